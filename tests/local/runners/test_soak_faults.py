"""The soak's fault plan: per-request faults at a fixed rate, outage windows on the scaled clock, crashes before
the ledger write."""

from __future__ import annotations

import pytest

from invoice_bridge.ledger.deals import Ledger
from local.aws.lambda_runtime import LambdaCrash
from local.aws.scaled_clock import ScaledClock
from local.runners.soak_faults import FaultPlan, crashes_before_ledger_write


class ManualTime:
    def __init__(self) -> None:
        self.value = 1_800_000_000.0

    def __call__(self) -> float:
        return self.value


def plan(manual: ManualTime, *, fault_rate: float = 0.0, crash_rate: float = 0.0) -> FaultPlan:
    return FaultPlan(
        seed=3,
        clock=ScaledClock(10, real=manual),
        deals=10,
        fault_rate=fault_rate,
        crash_rate=crash_rate,
        outage_seconds=3600,
    )


def test_bitrix24_goes_down_for_the_outage_once_enough_documents_were_created_and_1c_follows() -> None:
    manual = ManualTime()
    faults = plan(manual)
    assert faults.bitrix("batch") is None
    creates = 0
    while faults.bitrix_outage.starts_at is None:
        assert faults.onec("POST", "Document_СчетНаОплатуПокупателю") is None
        creates += 1
    assert 2 <= creates <= 4  # 20-40 % of 10 deals
    refused = faults.bitrix("batch")
    assert refused is not None
    assert refused.status == 502
    assert faults.onec("GET", "Catalog_Контрагенты") is None  # 1C goes down 50-90 % of the way through

    manual.value += 3600 * 0.9 / 10  # 90 % of the Bitrix24 outage on the x10 clock
    assert faults.bitrix("batch") is not None
    down = faults.onec("GET", "Catalog_Контрагенты")
    assert down is not None
    assert down.status == 503

    manual.value += 3600 * 0.2 / 10  # Bitrix24 is back; 1C is still down
    assert faults.bitrix("batch") is None
    assert faults.onec("GET", "Catalog_Контрагенты") is not None
    manual.value += 3600 / 10
    assert faults.onec("GET", "Catalog_Контрагенты") is None
    assert faults.counts["Bitrix24 outage: 502"] == 2
    assert faults.counts["1C outage: 503"] == 2


def test_random_faults_follow_the_rate_per_request() -> None:
    manual = ManualTime()
    never = plan(manual, fault_rate=0.0)
    always = plan(manual, fault_rate=1.0)
    assert all(never.bitrix("batch") is None for _ in range(200))
    answers = [always.onec("POST", "Document_СчетНаОплатуПокупателю") for _ in range(200)]
    assert all(answer is not None and answer.status in (500, 504) for answer in answers)
    lost_answers = [answer for answer in answers if answer is not None and answer.after_write]
    assert lost_answers
    assert all(answer.status == 504 for answer in lost_answers)
    assert always.faults == 200
    assert never.faults == 0


def test_a_crash_comes_before_the_ledger_write_and_the_ledger_is_restored_after() -> None:
    real_mark_created = Ledger.mark_created
    faults = plan(ManualTime(), crash_rate=1.0)
    with crashes_before_ledger_write(faults):
        assert Ledger.mark_created is not real_mark_created
        with pytest.raises(LambdaCrash):
            Ledger(None, "table").mark_created(  # type: ignore[arg-type]
                "portal#deal#1", owner="o", ref_key="k", number="N1", total="1.00", vat_total="0.00"
            )
    assert Ledger.mark_created is real_mark_created
    assert faults.counts["crash after the 1C write, before the ledger write"] == 1
