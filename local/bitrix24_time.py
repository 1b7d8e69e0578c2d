"""The ``time`` block of a Bitrix24 answer, as the sandbox writes it: idealised or as real portals send it.

Sources: the docs' sample of a method answer (``time_object_operating.docs.txt``: ``processing`` 0.03 s of a 0.62 s
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
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

PORTAL_TZ = timezone(timedelta(hours=3))
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
