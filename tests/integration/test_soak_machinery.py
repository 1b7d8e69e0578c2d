"""What `make soak` stands on: a crashed invocation behaves as on Lambda, SQS in moto and the bridge's leases run on
one scaled clock, and the sandboxes' per-request fault hooks answer as the real services fail."""

from __future__ import annotations

import time

import pytest
import requests

from invoice_bridge import clock
from invoice_bridge.bitrix24.client import Bitrix24Client, Bitrix24Error
from invoice_bridge.ledger.deals import Ledger
from invoice_bridge.ledger.records import LedgerStatus
from local.aws.lambda_runtime import LambdaCrash
from local.aws.scaled_clock import ScaledClock, scaled_time
from local.bitrix24 import faults as bitrix24_faults
from local.bitrix24.sandbox import Bitrix24Sandbox
from local.onec import faults as onec_faults
from local.onec.model import INVOICE_SET
from local.onec.sandbox import OnecSandbox
from local.seed import ONEC_PASSWORD, ONEC_USERNAME, PORTAL_MEMBER_ID
from local.stack import LocalStack
from tests.integration.test_bridge_end_to_end import drafts_for, post, webhook
from tests.local.onec.calls import error_of, get, invoice, unique_comment
from tests.local.onec.calls import post as post_to_1c

KEY = f"{PORTAL_MEMBER_ID}#deal#1001"


class ManualTime:
    """A real clock the test moves by hand, under a ScaledClock of factor 1."""

    def __init__(self) -> None:
        # from the real time: 1C documents are dated by the real clock, and the look-up after a crash searches
        # from the attempt's start on the bridge's clock, within a day
        self.value = time.time()

    def __call__(self) -> float:
        return self.value


def test_a_crashed_invocation_gives_its_batch_back_after_the_visibility_timeout_and_the_retry_finds_the_document(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_mark_created = Ledger.mark_created
    crashes = iter([True])

    def crash_once(self: Ledger, key: str, **fields: object) -> bool:
        if next(crashes, False):
            raise LambdaCrash("the execution environment died after 1C answered")
        return real_mark_created(self, key, **fields)  # type: ignore[arg-type]

    monkeypatch.setattr(Ledger, "mark_created", crash_once)
    manual = ManualTime()
    with scaled_time(ScaledClock(1, real=manual)) as scaled:
        stack.event_source.clock = scaled.now
        assert post(stack, webhook(1001)).status_code == 200
        assert stack.event_source.poll_once() == 1
        assert stack.event_source.crashes == 1
        [created] = drafts_for(stack, 1001)  # 1C has it; the ledger does not
        record = Ledger(stack.dynamodb, stack.resources.table_name).get(KEY)  # type: ignore[union-attr]
        assert record is not None
        assert record.status is LedgerStatus.IN_PROGRESS

        manual.value += 719  # the queue's VisibilityTimeout is 720 s: nothing comes back sooner
        assert stack.event_source.poll_once() == 0
        manual.value += 2
        assert stack.event_source.poll_once() == 1

    [draft] = drafts_for(stack, 1001)
    assert draft["Ref_Key"] == created["Ref_Key"]
    record = Ledger(stack.dynamodb, stack.resources.table_name).get(KEY)  # type: ignore[union-attr]
    assert record is not None
    assert record.status is LedgerStatus.CREATED
    assert record.onec_ref_key == created["Ref_Key"]
    assert [e.method for e in stack.onec.request_log].count("POST") == 1


def test_scaled_time_runs_the_bridge_clock_and_moto_sqs_together_and_restores_both(stack: LocalStack) -> None:
    manual = ManualTime()
    with scaled_time(ScaledClock(20, real=manual)) as scaled:
        start = manual.value
        assert clock.now() == scaled.now() == start
        manual.value += 9  # 9 real seconds are 180 scaled ones
        assert clock.now() == pytest.approx(scaled.now()) == pytest.approx(start + 180)
        stack.sqs.send_message(QueueUrl=stack.resources.queue_url, MessageBody="{}", DelaySeconds=600)  # type: ignore[union-attr]
        manual.value += 29  # 580 scaled seconds: still delayed
        assert stack.sqs.receive_message(QueueUrl=stack.resources.queue_url).get("Messages", []) == []  # type: ignore[union-attr]
        manual.value += 2  # 620
        assert len(stack.sqs.receive_message(QueueUrl=stack.resources.queue_url)["Messages"]) == 1  # type: ignore[union-attr]
    assert clock.now() < manual.value  # the real clock is back (the manual one is 40 s ahead of it)


def test_the_bitrix24_fault_hook_answers_per_request() -> None:
    seen: list[str] = []

    def every_other(method: str) -> bitrix24_faults.InjectedFault | None:
        seen.append(method)
        return bitrix24_faults.injected_fault(502, "", "Bad Gateway") if len(seen) % 2 else None

    with Bitrix24Sandbox() as portal:
        portal.set_fault_hook(every_other)
        client = Bitrix24Client(portal.webhook_url, timeout=5, read_retries=0)
        with pytest.raises(Bitrix24Error) as refused:
            client.call("crm.deal.get", {"id": 1001})
        assert refused.value.status == 502
        assert refused.value.transient
        assert client.call("crm.deal.get", {"id": 1001})["ID"] == "1001"
        portal.set_fault_hook(None)
        assert client.call("crm.deal.get", {"id": 1001})["ID"] == "1001"
    assert seen == ["crm.deal.get", "crm.deal.get"]


def test_the_1c_fault_hook_can_store_a_document_and_lose_the_answer() -> None:
    calls: list[tuple[str, str]] = []

    def lose_post_answers(method: str, entity_set: str) -> onec_faults.InjectedFault | None:
        calls.append((method, entity_set))
        return onec_faults.injected_fault(504, "-1", "Gateway Timeout", after_write=True) if method == "POST" else None

    comment = unique_comment()
    with OnecSandbox() as base, requests.Session() as http:
        http.auth = (ONEC_USERNAME, ONEC_PASSWORD)
        base.set_fault_hook(lose_post_answers)
        assert error_of(post_to_1c(http, base, invoice(comment)))[:2] == (504, "-1")
        assert get(http, base, "Catalog_Валюты").status_code == 200
        assert len([doc for doc in base.documents() if doc["Комментарий"] == comment]) == 1
    assert calls == [("POST", INVOICE_SET), ("GET", "Catalog_Валюты")]
