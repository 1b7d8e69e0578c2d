"""The loop back through the real handlers: processor → 1C sandbox (the accountant posts and records payments)
→ the status sync's handler → Bitrix24 sandbox."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import urlencode

import pytest
import requests

from invoice_bridge.ledger.deals import Ledger
from local.onec.registers import CANCELLED, PAID
from local.seed import APPLICATION_TOKEN, DEALS, PORTAL_DOMAIN, PORTAL_MEMBER_ID
from local.stack import LocalStack
from local.webhooks import FORM_HEADERS, webhook_body
from tests.unit.test_messages import english_words

INVOICES = "Document_СчетНаОплатуПокупателю"


def new_invoice_event(invoice_id: int) -> bytes:
    return urlencode(
        {
            "event": "ONCRMDYNAMICITEMUPDATE",
            "data[FIELDS][ID]": str(invoice_id),
            "data[FIELDS][ENTITY_TYPE_ID]": "31",
            "ts": "1795428000",
            "auth[domain]": PORTAL_DOMAIN,
            "auth[member_id]": PORTAL_MEMBER_ID,
            "auth[application_token]": APPLICATION_TOKEN,
        }
    ).encode()


def invoice_of(stack: LocalStack, deal_id: int, kind: str = "deal") -> dict[str, object]:
    """The entity's draft, made through the receiver and the processor."""
    body = webhook_body(deal_id) if kind == "deal" else new_invoice_event(deal_id)
    requests.post(stack.webhook_url, data=body, headers=FORM_HEADERS, timeout=10)
    for _ in range(20):
        if stack.queued_messages() == 0:
            break
        stack.event_source.poll_once(wait_seconds=1)
    marker = f"[b24:{PORTAL_MEMBER_ID}:{kind}:{deal_id}]"
    [draft] = [doc for doc in stack.onec.documents() if marker in str(doc["Комментарий"])]
    return draft


def status_comments(stack: LocalStack, deal_id: int, entity_type: str = "deal") -> list[str]:
    """The timeline comments of the entity after the processor's first one (about the draft)."""
    return [
        c.comment for c in stack.bitrix.timeline_comments if (c.entity_type, c.entity_id) == (entity_type, deal_id)
    ][1:]


@pytest.fixture
def funnel_stack() -> Iterator[LocalStack]:
    """Funnel 1 invoices at «Выставлен счёт»; a paid deal moves on to «Сделка успешна» (both stay triggers)."""
    local = LocalStack(parameter_overrides={"TriggerStageIds": "C1:UC_INVOICE,C1:WON", "PaidStageId": "C1:WON"}).start(
        poll=False
    )
    deal = next(d for d in DEALS if d.id == 1002)
    local.bitrix.set_deal(dataclasses.replace(deal, stage_id="C1:UC_INVOICE", stage_semantic_id="P"))
    try:
        yield local
    finally:
        local.stop()


def is_open(stack: LocalStack, key: str) -> bool:
    assert stack.resources is not None
    item = stack.dynamodb.get_item(TableName=stack.resources.table_name, Key={"pk": {"S": key}})["Item"]
    return "open_portal" in item


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
    for comment in comments:
        assert not english_words(comment), comment


def test_full_payment_moves_the_deal_stage_once_and_leaves_the_sweep(funnel_stack: LocalStack) -> None:
    stack = funnel_stack
    ref = str(invoice_of(stack, 1002)["Ref_Key"])
    stack.onec.accountant.post(ref)
    stack.onec.accountant.record_receipt(ref, Decimal("20000.00"))
    stack.run_status_sync()
    total = Decimal(str(stack.onec.documents(where=lambda d: d["Ref_Key"] == ref)[0]["СуммаДокумента"]))
    stack.onec.accountant.record_receipt(ref, total - Decimal("20000.00"))

    report = stack.run_status_sync()
    again = stack.run_status_sync()

    moves = [u.fields["STAGE_ID"] for u in stack.bitrix.deal_updates if u.deal_id == 1002 and "STAGE_ID" in u.fields]
    assert moves == ["C1:WON"]
    comments = status_comments(stack, 1002)
    assert len(comments) == 2
    assert "оплачен полностью" in comments[1]
    assert report["closed"] == 1
    assert again["open_documents"] == 0
    assert not is_open(stack, f"{PORTAL_MEMBER_ID}#deal#1002")
    # the move's own update event finds the deal still in a trigger stage: nothing new in 1C or the timeline
    requests.post(stack.webhook_url, data=webhook_body(1002), headers=FORM_HEADERS, timeout=10)
    stack.event_source.poll_once(wait_seconds=1)
    assert len(stack.onec.documents()) == 1
    assert len(status_comments(stack, 1002)) == 2


def test_paid_new_invoice_moves_to_its_funnels_success_stage(stack: LocalStack) -> None:
    draft = invoice_of(stack, 501, "invoice")
    stack.onec.accountant.post(str(draft["Ref_Key"]))
    stack.onec.accountant.record_receipt(str(draft["Ref_Key"]), Decimal(str(draft["СуммаДокумента"])))

    reports = [stack.run_status_sync() for _ in range(3)]

    # the first sweep tells and learns the invoice's funnel, the second moves it: one read request each
    moves = [u.fields for u in stack.bitrix.item_updates if u.item_id == 501]
    assert moves == [{"stageId": "DT31_1:P"}]
    assert [r["bitrix24_requests"] for r in reports] == [2, 2, 0]
    assert all(r["bitrix24_requests"] <= r["bitrix24_request_bound"] for r in reports)
    assert reports[1]["closed"] == 1
    [told] = status_comments(stack, 501, "smart_invoice")
    assert "проведён бухгалтером" in told
    assert "оплачен полностью: 122\u00a0000,00\u00a0₽ из 122\u00a0000,00\u00a0₽ (платёж № " in told


def test_status_set_to_paid_by_hand_without_payments_is_not_paid(stack: LocalStack) -> None:
    ref = str(invoice_of(stack, 1001)["Ref_Key"])
    stack.onec.accountant.post(ref)
    stack.onec.accountant.set_status(ref, PAID)

    stack.run_status_sync()
    stack.run_status_sync()

    [told] = status_comments(stack, 1001)
    assert "проведён бухгалтером" in told
    assert "оплачен" not in told
    assert stack.bitrix.deal_updates == []
    assert is_open(stack, f"{PORTAL_MEMBER_ID}#deal#1001")
    # and a payment afterwards does not recompute a status set by hand, yet the turnover tells the truth
    stack.onec.accountant.record_receipt(ref, Decimal("1000.00"))
    stack.run_status_sync()
    assert "оплачен частично: 1\u00a0000,00\u00a0₽ из 514\u00a0000,00\u00a0₽" in status_comments(stack, 1001)[1]


def test_unposting_after_a_payment_is_reported(stack: LocalStack) -> None:
    ref = str(invoice_of(stack, 1001)["Ref_Key"])
    stack.onec.accountant.post(ref)
    stack.onec.accountant.record_receipt(ref, Decimal("100000.00"))
    stack.run_status_sync()

    stack.onec.accountant.unpost(ref)
    stack.run_status_sync()
    stack.run_status_sync()

    comments = status_comments(stack, 1001)
    assert len(comments) == 2
    assert "отменил проведение" in comments[1]


def test_a_cancelled_payment_is_reported_with_what_is_left(stack: LocalStack) -> None:
    ref = str(invoice_of(stack, 1001)["Ref_Key"])
    stack.onec.accountant.post(ref)
    first = stack.onec.accountant.record_receipt(ref, Decimal("100000.00"))
    stack.onec.accountant.record_receipt(ref, Decimal("50000.00"))
    stack.run_status_sync()

    stack.onec.accountant.cancel_receipt(str(first["Ref_Key"]))
    stack.run_status_sync()

    comments = status_comments(stack, 1001)
    assert len(comments) == 2
    assert "отменена оплата" in comments[1]
    assert "оплачено 50\u00a0000,00\u00a0₽ из 514\u00a0000,00\u00a0₽" in comments[1]


def test_cancelled_status_is_told_once_and_leaves_the_sweep(stack: LocalStack) -> None:
    ref = str(invoice_of(stack, 1001)["Ref_Key"])
    stack.onec.accountant.set_status(ref, CANCELLED)

    stack.run_status_sync()
    report = stack.run_status_sync()

    [told] = status_comments(stack, 1001)
    assert "отменён в 1С" in told
    assert report["open_documents"] == 0


def test_a_failed_comment_is_told_on_the_next_sweep(stack: LocalStack) -> None:
    ref = str(invoice_of(stack, 1001)["Ref_Key"])
    stack.onec.accountant.post(ref)
    stack.bitrix.set_outage(503)
    failed = stack.run_status_sync()
    stack.bitrix.set_outage(None)
    stack.run_status_sync()
    stack.run_status_sync()

    assert failed["told"] == 0
    [told] = status_comments(stack, 1001)
    assert "проведён бухгалтером" in told


def test_unpublished_registers_fail_the_portal_and_count_for_the_alarm(stack: LocalStack) -> None:
    invoice_of(stack, 1001)
    stack.onec.set_outage(404, "8", "Тип сущности не найден: InformationRegister_СтатусыДокументов")
    report = stack.run_status_sync()
    stack.onec.set_outage(None)
    assert report["failed_portals"] == [PORTAL_DOMAIN]
    assert status_comments(stack, 1001) == []


def test_sale_profile_tells_the_posted_sale_and_its_tax_invoice() -> None:
    stack = LocalStack(parameter_overrides={"DocumentKind": "sale_and_tax_invoice"}).start(poll=False)
    try:
        requests.post(stack.webhook_url, data=webhook_body(1001), headers=FORM_HEADERS, timeout=10)
        for _ in range(20):
            if stack.queued_messages() == 0:
                break
            stack.event_source.poll_once(wait_seconds=1)
        [sale] = stack.onec.documents("Document_РеализацияТоваровУслуг")
        [tax_invoice] = stack.onec.documents("Document_СчетФактураВыданный")
        stack.onec.accountant.post(str(sale["Ref_Key"]), "Document_РеализацияТоваровУслуг")

        stack.run_status_sync()
        stack.run_status_sync()

        [told] = status_comments(stack, 1001)
        assert told.startswith(f"[B]Реализация (акт, накладная, УПД) № {sale['Number']} от ")
        assert "проведена бухгалтером" in told
        assert f"выставлен счёт-фактура № {tax_invoice['Number']}" in told
    finally:
        stack.stop()


def test_a_deal_deleted_in_bitrix24_is_not_retried_forever(stack: LocalStack) -> None:
    """The ledger follows a document whose deal is gone from Bitrix24: «Not found» is final, not retried."""
    assert stack.resources is not None
    ref = str(invoice_of(stack, 1001)["Ref_Key"])
    ledger = Ledger(stack.dynamodb, stack.resources.table_name)
    ledger.claim(f"{PORTAL_MEMBER_ID}#deal#99999", owner="t", content_hash="h", lease_seconds=60)
    ledger.mark_created(f"{PORTAL_MEMBER_ID}#deal#99999", owner="t", ref_key=ref, number="N", total="1", vat_total="0")
    stack.onec.accountant.post(ref)

    stack.run_status_sync()
    stack.bitrix.reset_log()
    again = stack.run_status_sync()

    assert again["told"] == 0
    assert all(entry.method != "batch" for entry in stack.bitrix.request_log)
    [told] = status_comments(stack, 1001)  # the deal that exists was told once
    assert "проведён бухгалтером" in told
