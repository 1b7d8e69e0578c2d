from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.stack import LocalStack


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    """The whole local stack; the test drives the SQS event source itself (poll_once) for determinism."""
    local = LocalStack().start(poll=False)
    try:
        yield local
    finally:
        local.stop()
