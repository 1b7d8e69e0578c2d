"""The loop back through the real handlers: processor → 1C sandbox (the accountant posts and records payments)
→ the status sync's handler → Bitrix24 sandbox."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from local.onec_accounting import PAID
from local.seed import PORTAL_MEMBER_ID
from local.stack import LocalStack
from local.webhooks import FORM_HEADERS, webhook_body

INVOICES = "Document_СчетНаОплатуПокупателю"


def invoice_of(stack: LocalStack, deal_id: int) -> dict[str, object]:
    """The deal's draft, made through the receiver and the processor."""
    requests.post(stack.webhook_url, data=webhook_body(deal_id), headers=FORM_HEADERS, timeout=10)
    for _ in range(20):
        if stack.queued_messages() == 0:
            break
        stack.event_source.poll_once(wait_seconds=1)
    marker = f"[b24:{PORTAL_MEMBER_ID}:deal:{deal_id}]"
    [draft] = [doc for doc in stack.onec.documents() if marker in str(doc["Комментарий"])]
    return draft


def status_comments(stack: LocalStack, deal_id: int, entity_type: str = "deal") -> list[str]:
    """The timeline comments of the entity after the processor's first one (about the draft)."""
    return [c.comment for c in stack.bitrix.timeline_comments if (c.entity_type, c.entity_id) == (entity_type, deal_id)][
        1:
    ]


@pytest.fixture
def paid_stage_stack() -> LocalStack:
    return LocalStack(parameter_overrides={"PaidStageId": "C1:WON", "PartlyPaidStageId": "C1:UC_INVOICE"})


def test_posted_is_told_once_and_a_second_sweep_changes_nothing(stack: LocalStack) -> None:
    draft = invoice_of(stack, 1001)
    stack.onec.accountant.post(str(draft["Ref_Key"]))

    first = stack.run_status_sync()
    [told] = status_comments(stack, 1001)
    assert f"№ {draft['Number']}" in told
    assert "проведён бухгалтером" in told
    assert first["told"] == 1

    stack.bitrix.reset_log()
    second = stack.run_status_sync()
    assert second["told"] == 0
    assert status_comments(stack, 1001) == [told]
    assert all(entry.method != "batch" for entry in stack.bitrix.request_log)


def test_partial_payment_is_one_comment_with_the_amounts(stack: LocalStack) -> None:
    draft = invoice_of(stack, 1001)
    ref = str(draft["Ref_Key"])
    stack.onec.accountant.post(ref)
    stack.run_status_sync()
    receipt = stack.onec.accountant.record_receipt(ref, Decimal("100000.00"))

    stack.run_status_sync()
    stack.run_status_sync()
    comments = status_comments(stack, 1001)
    assert len(comments) == 2
    assert "оплачен частично: 100\u00a0000,00\u00a0₽ из 514\u00a0000,00\u00a0₽" in comments[1]
    assert f"платёж № {receipt['Number']}" in comments[1]
