"""What `make soak` injects, all drawn from one seeded random generator and timed on the soak's scaled clock:

- random faults at a fixed rate per request: Bitrix24 answers 503 QUERY_LIMIT_EXCEEDED or 500; 1C answers 500,
  or stores what it was sent and loses the answer (504);
- one Bitrix24 outage and one 1C outage, each refusing every request for `outage_seconds`. Bitrix24 goes down
  once a seeded 20-40 % of the deals' documents were created, so most deals are in flight; 1C goes down a
  seeded 50-90 % of the way through the Bitrix24 outage, so the deals read after Bitrix24 returns meet it;
- crashes between the 1C create and the ledger write: at a fixed rate per ledger write after 1C answered, the
  invocation dies (`LambdaCrash`) and its whole batch comes back after the queue's visibility timeout.

The generator is seeded, but the requests arrive in an order threads decide, so one seed gives the same rates
and windows, not the same faults on the same deals.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from invoice_bridge.ledger.deals import Ledger
from local.aws.lambda_runtime import LambdaCrash
from local.aws.scaled_clock import ScaledClock
from local.bitrix24 import faults as bitrix24_faults
from local.onec import faults as onec_faults
from local.onec.protocol import INTERNAL_ERROR_MESSAGE


@dataclass
class Outage:
    name: str
    seconds: float
    starts_at: float | None = None  # scaled unix time; None until it is due

    def active(self, now: float) -> bool:
        return self.starts_at is not None and self.starts_at <= now < self.starts_at + self.seconds

    @property
    def ends_at(self) -> float | None:
        return None if self.starts_at is None else self.starts_at + self.seconds


class FaultPlan:
    def __init__(
        self,
        *,
        seed: int,
        clock: ScaledClock,
        deals: int,
        fault_rate: float,
        crash_rate: float,
        outage_seconds: float,
    ) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - fault injection, not cryptography
        self._lock = threading.Lock()
        self._clock = clock
        self.fault_rate = fault_rate
        self.crash_rate = crash_rate
        self.counts = Counter[str]()
        self.bitrix_outage = Outage("Bitrix24", outage_seconds)
        self.onec_outage = Outage("1C", outage_seconds)
        self._creates_before_outage = max(1, round(deals * self._rng.uniform(0.2, 0.4)))
        self._onec_lag = outage_seconds * self._rng.uniform(0.5, 0.9)
        self._creates = 0

    @property
    def faults(self) -> int:
        return sum(self.counts.values())

    def bitrix(self, method: str) -> bitrix24_faults.InjectedFault | None:
        """Bitrix24Sandbox's fault hook."""
        now = self._clock.now()
        with self._lock:
            if self.bitrix_outage.active(now):
                self.counts["Bitrix24 outage: 502"] += 1
                # the portal's front answers for a back end that is down; a 503 would be QUERY_LIMIT_EXCEEDED
                return bitrix24_faults.injected_fault(502, "", "Bad Gateway")
            if self._rng.random() >= self.fault_rate:
                return None
            if self._rng.random() < 0.5:
                self.counts["Bitrix24 503 QUERY_LIMIT_EXCEEDED"] += 1
                return bitrix24_faults.injected_fault(503, "QUERY_LIMIT_EXCEEDED", "Too many requests")
            self.counts["Bitrix24 500"] += 1
            return bitrix24_faults.injected_fault(500, "INTERNAL_SERVER_ERROR", "Internal server error")

    def onec(self, http_method: str, entity_set: str) -> onec_faults.InjectedFault | None:
        """OnecSandbox's fault hook."""
        now = self._clock.now()
        with self._lock:
            if http_method == "POST" and entity_set.startswith("Document_"):
                self._creates += 1
                if self._creates == self._creates_before_outage and self.bitrix_outage.starts_at is None:
                    self.bitrix_outage.starts_at = now
                    self.onec_outage.starts_at = now + self._onec_lag
            if self.onec_outage.active(now):
                self.counts["1C outage: 503"] += 1
                return onec_faults.injected_fault(503, "-1", "Service Unavailable")
            if self._rng.random() >= self.fault_rate:
                return None
            if self._rng.random() < 0.5:
                self.counts["1C 500"] += 1
                return onec_faults.injected_fault(500, "-1", INTERNAL_ERROR_MESSAGE)
            self.counts["1C 504, answer lost after the write"] += 1
            return onec_faults.injected_fault(504, "-1", "Gateway Timeout", after_write=True)

    def crash_now(self) -> bool:
        with self._lock:
            if self._rng.random() >= self.crash_rate:
                return False
            self.counts["crash after the 1C write, before the ledger write"] += 1
            return True


@contextmanager
def crashes_before_ledger_write(plan: FaultPlan) -> Iterator[None]:
    """Within the block, `Ledger.mark_created` (the ledger write right after 1C answered) may kill the invocation
    first, as `plan` decides."""
    real_mark_created = Ledger.mark_created

    def mark_created(self: Ledger, key: str, **fields: Any) -> bool:
        if plan.crash_now():
            raise LambdaCrash(f"the execution environment died before recording {key}")
        return real_mark_created(self, key, **fields)

    Ledger.mark_created = mark_created  # type: ignore[method-assign]
    try:
        yield
    finally:
        Ledger.mark_created = real_mark_created  # type: ignore[method-assign]
