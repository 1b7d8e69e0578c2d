"""One clock, scaled by one factor, for everything that waits in the local stack: the bridge's stored and compared
time (leases, backoff deadlines, breakers: `invoice_bridge.clock`), SQS in moto (visibility timeouts, delays,
receive counts follow from them), the sandboxes' outage windows and the invocations' deadlines.

At factor 20 a 180 s lease passes in 9 real seconds and a one-hour outage in three real minutes, so a soak can
live through the template's real retry schedule. What the clock cannot scale is the work itself: a batch that
takes 2 real seconds takes 40 s on the scaled clock. A factor is only faithful while that stays well inside the
processor's Timeout and the lease (`local.runners.soak` measures it and says so).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import moto.sqs.models as moto_sqs

from invoice_bridge import clock


class ScaledClock:
    """Unix seconds that run `factor` times faster than the real clock, starting from the real time now."""

    def __init__(self, factor: float, real: Callable[[], float] = time.time) -> None:
        if factor <= 0:
            raise ValueError("the time factor must be positive")
        self.factor = factor
        self._real = real
        self._origin = real()

    def now(self) -> float:
        return self._origin + (self._real() - self._origin) * self.factor

    def elapsed(self) -> float:
        """Scaled seconds since the clock was made."""
        return self.now() - self._origin

    def real_seconds(self, scaled_seconds: float) -> float:
        """How long `scaled_seconds` on this clock take in real time."""
        return scaled_seconds / self.factor

    def sleep(self, scaled_seconds: float) -> None:
        time.sleep(max(0.0, self.real_seconds(scaled_seconds)))


@contextmanager
def scaled_time(scaled: ScaledClock) -> Iterator[ScaledClock]:
    """Runs the bridge's clock seam and moto's SQS on `scaled` inside the block, then restores both.

    moto's SQS imports `unix_time` and `unix_time_millis` from `moto.core.utils` into `moto.sqs.models`, where
    every visibility timeout, delay, first-receive stamp and retention check reads them; moto runs in this
    process (local.aws.moto_server), so replacing those two names moves SQS onto the scaled clock and leaves the
    rest of moto alone."""
    original_time: Callable[[datetime | None], float] = vars(moto_sqs)["unix_time"]

    def unix_time(dt: datetime | None = None) -> float:
        return scaled.now() if dt is None else original_time(dt)

    def unix_time_millis(dt: datetime | None = None) -> float:
        return unix_time(dt) * 1000.0

    originals = {name: vars(moto_sqs)[name] for name in ("unix_time", "unix_time_millis")}
    for name, replacement in (("unix_time", unix_time), ("unix_time_millis", unix_time_millis)):
        setattr(moto_sqs, name, replacement)
    clock.use_time_source(scaled.now)
    try:
        yield scaled
    finally:
        clock.use_time_source(None)
        for name, original in originals.items():
            setattr(moto_sqs, name, original)
