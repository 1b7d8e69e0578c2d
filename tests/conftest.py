from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from invoice_bridge.observability import metrics
from local.stack import LocalStack


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    """The whole local stack; the test drives the SQS event source itself (poll_once) for determinism."""
    local = LocalStack().start(poll=False)
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture
def emitted(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts the metrics the bridge adds (they still go to Powertools)."""
    counts: Counter[str] = Counter()
    real_add_metric = metrics.add_metric

    def spy(name: str, unit: Any, value: float, *args: Any, **kwargs: Any) -> None:
        counts[name] += int(value)
        real_add_metric(name, unit, value, *args, **kwargs)

    monkeypatch.setattr(metrics, "add_metric", spy)
    return counts
