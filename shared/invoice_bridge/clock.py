"""Wall-clock time for everything the bridge stores or compares across invocations (leases, backoff,
breakers, checkpoints). One seam, so the local soak can run the template's timings on a scaled clock."""

from __future__ import annotations

import time
from collections.abc import Callable

_source: Callable[[], float] = time.time


def now() -> float:
    """Seconds since the epoch, as `time.time()` unless a local runner replaced the source."""
    return _source()


def use_time_source(source: Callable[[], float] | None) -> None:
    """For local runners only: `None` restores the real clock."""
    global _source
    _source = source or time.time
