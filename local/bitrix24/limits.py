"""Bitrix24's limits as the sandbox imposes them, and the ``time`` block that reports them in every answer.

Request rate: a leaky bucket (:class:`LeakyBucket`; over it, 503 ``QUERY_LIMIT_EXCEEDED``). Operating time: each
method's seconds over a rolling ten-minute window (:class:`OperatingMeter`; over the limit, 429
``OPERATION_TIME_LIMIT`` until enough charges age out).

The ``time`` block, idealised or as real portals send it. Sources: the docs' sample of a method answer (``time_object_operating.docs.txt``: ``processing`` 0.03 s of a 0.62 s
``duration``, ``operating`` 3.3 s) and the docs' ``batch`` samples (``batch_response_*.docs.json``: the outer
``batch`` answer and every command's ``result_time`` carry no ``operating`` fields at all); the limits page: a
method's time is counted in one-minute buckets over ten minutes, so the counter next drops when its *oldest* charge
ages out, not ten minutes after the newest.

``TimeProfile.REAL`` (the default) therefore: leaves ``operating``/``operating_reset_at`` out when the method has
nothing counted and for the ``batch`` call itself, puts ``operating_reset_at`` at the oldest live charge plus the
window (sooner than "now + 600"), writes whole numbers as JSON integers, and makes ``processing`` a part of
``duration``. ``TimeProfile.IDEAL`` is the earlier sandbox: both fields always, reset at the newest charge plus the
window, ``processing == duration``. Clients must cope with both.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from local.bitrix24.protocol import RestError
from local.bitrix24.values import PORTAL_TZ

OPERATING_WINDOW_SECONDS = 600
OPERATION_TIME_LIMIT = "OPERATION_TIME_LIMIT"
OPERATION_TIME_LIMIT_DESCRIPTION = "Method is blocked due to operation time limit."
QUERY_LIMIT_EXCEEDED = {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
PROCESSING_SHARE = 0.6  # the part of an answer's duration spent in the method itself


class TimeProfile(StrEnum):
    REAL = "real"
    IDEAL = "ideal"


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, PORTAL_TZ).isoformat(timespec="seconds")


def time_block(
    start: float,
    finish: float,
    *,
    profile: TimeProfile,
    operating: float,
    newest_reset_at: float,
    oldest_reset_at: float | None,
    counted: bool = True,
    blocked: bool = False,
) -> dict[str, Any]:
    """``counted`` is False for the ``batch`` call itself (never charged). ``newest_reset_at`` and
    ``oldest_reset_at`` are when the newest and the oldest live charge age out (None: nothing is counted). A
    ``blocked`` answer (429) always says when the method unblocks."""
    duration = finish - start
    if profile is TimeProfile.IDEAL:
        return {
            "start": start,
            "finish": finish,
            "duration": duration,
            "processing": duration,
            "date_start": _iso(start),
            "date_finish": _iso(finish),
            "operating_reset_at": math.ceil(newest_reset_at),
            "operating": operating,
        }
    block: dict[str, Any] = {
        "start": _number(start),
        "finish": _number(finish),
        "duration": _number(duration),
        "processing": _number(duration * PROCESSING_SHARE),
        "date_start": _iso(start),
        "date_finish": _iso(finish),
    }
    if blocked or (counted and operating > 0 and oldest_reset_at is not None):
        assert oldest_reset_at is not None  # noqa: S101 - a block always has its end
        block["operating_reset_at"] = math.ceil(oldest_reset_at)
        block["operating"] = _number(operating)
    return block


class LeakyBucket:
    """Bitrix24's request-rate limit: each request adds 1, the bucket drains ``drain_per_second``."""

    def __init__(self, drain_per_second: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._drain = drain_per_second
        self._burst = burst
        self._clock = clock
        self._level = 0.0
        self._stamp = clock()

    def try_acquire(self) -> bool:
        now = self._clock()
        self._level = max(0.0, self._level - (now - self._stamp) * self._drain)
        self._stamp = now
        if self._level + 1 > self._burst:
            return False
        self._level += 1
        return True


class OperatingMeter:
    """Bitrix24's per-method operating-time limit (reference §3.2) over a rolling window.

    Each call of a method is charged seconds at the moment it runs; a charge counts while it is younger than the
    window. Once a method's live charges add up to more than the limit, it is blocked until enough of the oldest
    charges have aged out to bring the sum back within the limit. :meth:`block` adds a manual block.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._charges: dict[str, deque[tuple[float, float]]] = {}
        self._blocks: dict[str, float] = {}

    def now(self) -> float:
        return self._clock()

    def _live(self, method: str, window: float, now: float) -> list[tuple[float, float]]:
        charges = self._charges.get(method)
        if charges is None:
            return []
        while charges and charges[0][0] + window <= now:
            charges.popleft()
        return list(charges)

    def charge(self, method: str, seconds: float) -> None:
        if seconds > 0:
            self._charges.setdefault(method, deque()).append((self._clock(), seconds))

    def used(self, method: str, window: float) -> float:
        return math.fsum(cost for _, cost in self._live(method, window, self._clock()))

    def block(self, method: str, until: float) -> None:
        self._blocks[method] = max(until, self._blocks.get(method, until))

    def blocked_until(self, method: str, limit: float | None, window: float) -> float | None:
        """The moment ``method`` unblocks, or ``None`` when it may run now."""
        now = self._clock()
        until: float | None = None
        manual = self._blocks.get(method)
        if manual is not None:
            if manual > now:
                until = manual
            else:
                del self._blocks[method]
        if limit is not None:
            charges = self._live(method, window, now)
            costs = [cost for _, cost in charges]
            if math.fsum(costs) > limit:
                for index, (stamp, _) in enumerate(charges):
                    if math.fsum(costs[index + 1 :]) <= limit:
                        until = max(until or stamp + window, stamp + window)
                        break
        return until

    def oldest_reset_at(self, method: str, window: float) -> float | None:
        """When the method's oldest live charge ages out (its counter next drops), or None when none is live."""
        charges = self._live(method, window, self._clock())
        return charges[0][0] + window if charges else None

    def reset_at(self, method: str, window: float) -> float:
        """When the method's counter is back to zero: its newest live charge plus the window (or now plus it)."""
        now = self._clock()
        charges = self._live(method, window, now)
        return (charges[-1][0] if charges else now) + window


class OperatingLimitError(RestError):
    """429 ``OPERATION_TIME_LIMIT``: the method is blocked until ``reset_at`` (unix seconds)."""

    def __init__(self, reset_at: int, operating: float) -> None:
        super().__init__(429, OPERATION_TIME_LIMIT, OPERATION_TIME_LIMIT_DESCRIPTION)
        self.reset_at = reset_at
        self.operating = operating
