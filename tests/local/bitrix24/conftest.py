from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.bitrix24.sandbox import Bitrix24Sandbox
from tests.local.bitrix24.calls import IDEAL


@pytest.fixture
def sandbox() -> Iterator[Bitrix24Sandbox]:
    """A portal with the idealised time block and list order (see calls.IDEAL)."""
    with Bitrix24Sandbox(**IDEAL) as portal:
        yield portal


@pytest.fixture
def portal() -> Iterator[Bitrix24Sandbox]:
    """A portal with the defaults: the real portal's behaviour."""
    with Bitrix24Sandbox() as sandbox:
        yield sandbox
