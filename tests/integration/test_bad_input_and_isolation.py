"""Through the real handlers: one deal's broken read or hostile values fail that deal alone, with a rejection
that names the row, the field and the value; new invoices are read past their first page of rows."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from invoice_bridge.ledger.deals import Ledger
from invoice_bridge.ledger.records import LedgerRecord, LedgerStatus
from local.aws.lambda_runtime import LambdaContext, http_api_event, load_handler
from local.bitrix24.sandbox import Bitrix24Sandbox
from local.bitrix24.wire import RawJson
from local.seed import DEALS, PORTAL_MEMBER_ID, REQUISITES, SMART_INVOICES, Deal, ProductRow, SmartInvoice
from local.stack import LocalStack
from local.webhooks import FORM_HEADERS, webhook_body

DEAL_1001 = next(d for d in DEALS if d.id == 1001)  # Ромашка, requisite 21; laptops 22 % and baby food 10 %
INVOICE_501 = next(i for i in SMART_INVOICES if i.id == 501)


def post(stack: LocalStack, entity_id: int, *, invoice: bool = False) -> None:
    body = webhook_body(
        entity_id,
        event="ONCRMDYNAMICITEMUPDATE" if invoice else "ONCRMDEALUPDATE",
        entity_type_id=31 if invoice else None,
    )
    assert requests.post(stack.webhook_url, data=body, headers=FORM_HEADERS, timeout=10).status_code == 200


def one_invocation(stack: LocalStack, expected_messages: int) -> None:
    """Every queued message in one SQS batch, handled by one processor invocation."""
    assert stack.event_source.poll_once(wait_seconds=1) == expected_messages


def drafts_for(stack: LocalStack, entity_id: int, kind: str = "deal") -> list[dict[str, Any]]:
    marker = f"[b24:{PORTAL_MEMBER_ID}:{kind}:{entity_id}]"
    return [doc for doc in stack.onec.documents() if marker in str(doc["Комментарий"])]


def ledger(stack: LocalStack, entity_id: int, kind: str = "deal") -> LedgerRecord | None:
    assert stack.resources is not None
    return Ledger(stack.dynamodb, stack.resources.table_name).get(f"{PORTAL_MEMBER_ID}#{kind}#{entity_id}")


def comments_for(stack: LocalStack, entity_id: int) -> list[str]:
    return [c.comment for c in stack.bitrix.timeline_comments if c.entity_id == entity_id]


def dead_letters(stack: LocalStack) -> int:
    assert stack.resources is not None
    attributes = stack.sqs.get_queue_attributes(
        QueueUrl=stack.resources.dead_letter_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def copy_of_1001(deal_id: int, **changes: Any) -> Deal:
    """Deal 1001 under another id, with row ids of its own (raw row values are set per row id)."""
    rows = tuple(dataclasses.replace(row, id=deal_id * 10 + index) for index, row in enumerate(DEAL_1001.rows))
    return dataclasses.replace(DEAL_1001, id=deal_id, rows=rows, **changes)


@pytest.fixture
def stack_with_sellers() -> Iterator[LocalStack]:
    """The stack with two more "my company" requisites, 2 and 3, copies of requisite 1."""
    seller = next(r for r in REQUISITES if r.id == 1)
    extra = (dataclasses.replace(seller, id=2), dataclasses.replace(seller, id=3))
    local = LocalStack(bitrix=Bitrix24Sandbox(requisites=(*REQUISITES, *extra))).start(poll=False)
    try:
        yield local
    finally:
        local.stop()


# ---- isolation ---------------------------------------------------------------------------------------------


def test_a_read_request_that_keeps_failing_fails_only_the_deal_it_carried(stack: LocalStack) -> None:
    healthy = [copy_of_1001(deal_id) for deal_id in range(2001, 2020)]
    for deal in healthy:
        stack.bitrix.set_deal(deal)
    stack.bitrix.set_deal(copy_of_1001(2020))
    stack.bitrix.crash_on("crm.deal.get", id=2020)  # every batch that reads deal 2020 answers 500
    for deal_id in range(2001, 2021):
        post(stack, deal_id)

    one_invocation(stack, 20)

    for deal in healthy:
        assert len(drafts_for(stack, deal.id)) == 1, deal.id
    assert drafts_for(stack, 2020) == []
    assert ledger(stack, 2020) is None  # not claimed: its message is retried later
    assert stack.queued_messages() == 1
    batches = [entry for entry in stack.bitrix.request_log if entry.method == "batch"]
    assert sum(1 for entry in batches if entry.status == 500) >= 2  # the crash was met, then split around


def test_happy_path_costs_what_it_did(stack: LocalStack) -> None:
    for deal_id in range(2001, 2025):
        stack.bitrix.set_deal(copy_of_1001(deal_id))
        post(stack, deal_id)
    stack.bitrix.reset_log()

    one_invocation(stack, 24)

    reads = [
        e for e in stack.bitrix.request_log if e.method == "batch" and "crm.timeline.comment.add" not in e.batch_methods
    ]
    assert len(reads) == 3  # two requests of 12 deals, one follow-up for products and the seller's requisite
    assert all(entry.status == 200 for entry in reads)


def test_a_failed_follow_up_request_fails_only_the_deals_that_need_it(stack: LocalStack) -> None:
    for deal_id in range(2001, 2006):
        stack.bitrix.set_deal(copy_of_1001(deal_id))
    # deal 1007 sells consulting (product 104) only; reading that product crashes the portal
    stack.bitrix.crash_on("catalog.product.get", id=104)
    for deal_id in (*range(2001, 2006), 1007):
        post(stack, deal_id)

    one_invocation(stack, 6)

    for deal_id in range(2001, 2006):
        assert len(drafts_for(stack, deal_id)) == 1
    assert drafts_for(stack, 1007) == []
    assert comments_for(stack, 1007) == []  # not told "no external code": the read failed, it is retried
    assert stack.queued_messages() == 1


# ---- hostile values ----------------------------------------------------------------------------------------

# (where, field, value as Bitrix24 sends it, fragments the manager's comment must contain)
HOSTILE: list[tuple[str, str, object, tuple[str, ...]]] = [
    ("deal", "OPPORTUNITY", "NaN", ("OPPORTUNITY", "«NaN»", "не число")),
    ("deal", "OPPORTUNITY", "Infinity", ("OPPORTUNITY", "«Infinity»")),
    ("deal", "OPPORTUNITY", "", ("OPPORTUNITY", "«»", "не заполнено")),
    ("deal", "OPPORTUNITY", None, ("OPPORTUNITY", "«null»")),
    ("deal", "OPPORTUNITY", {"sum": 1}, ("OPPORTUNITY", '«{"sum": 1}»')),
    ("deal", "OPPORTUNITY", "22,0", ("OPPORTUNITY", "«22,0»", "запятая")),
    ("deal", "OPPORTUNITY", "1234567890123.456", ("OPPORTUNITY", "1234567890123.456", "15 значащих цифр")),
    ("deal", "TAX_VALUE", "abc", ("TAX_VALUE", "«abc»")),
    ("row", "PRICE", RawJson("NaN"), ("Товар №1", "PRICE", "«nan»", "не конечное число")),
    ("row", "PRICE", None, ("Товар №1", "PRICE", "«null»")),
    ("row", "PRICE", [1], ("Товар №1", "PRICE", "«[1]»")),
    ("row", "PRICE", "abc", ("Товар №1", "PRICE", "«abc»")),
    ("row", "PRICE", RawJson("1E+400"), ("Товар №1", "PRICE", "«1E+400»", "слишком большое")),
    ("row", "PRICE", RawJson("1234567890.123456"), ("Товар №1", "PRICE", "«1234567890.123456»", "15 значащих")),
    ("row", "PRICE_EXCLUSIVE", "", ("Товар №1", "PRICE_EXCLUSIVE", "«»")),
    ("row", "QUANTITY", "Infinity", ("Товар №1", "QUANTITY", "«Infinity»")),
    ("row", "QUANTITY", RawJson("1E+400"), ("Товар №1", "QUANTITY", "«1E+400»")),
    ("row", "QUANTITY", RawJson("2.00001"), ("Товар №1", "QUANTITY", "«2.00001»", "4 знаков после запятой")),
    ("row", "QUANTITY", {"n": 2}, ("Товар №1", "QUANTITY", '«{"n": 2}»')),
    ("row", "DISCOUNT_RATE", None, ("Товар №1", "DISCOUNT_RATE", "«null»")),
    ("row", "DISCOUNT_RATE", "abc", ("Товар №1", "DISCOUNT_RATE", "«abc»")),
    ("row", "TAX_RATE", "22,0", ("Товар №1", "TAX_RATE", "«22,0»")),
    ("row", "TAX_RATE", "abc", ("Товар №1", "TAX_RATE", "«abc»")),
    ("row", "TAX_RATE", RawJson("15"), ("Товар №1", "ставки НДС 15 %", "в России нет")),
    ("row", "PRODUCT_NAME", {"ru": "x"}, ("Товар №1", "PRODUCT_NAME", '«{"ru": "x"}»')),
]


def test_each_hostile_value_is_a_rejection_naming_row_field_and_value(stack: LocalStack) -> None:
    cases = {3001 + index: case for index, case in enumerate(HOSTILE)}
    for deal_id, (where, field, value, _) in cases.items():
        deal = copy_of_1001(deal_id)
        stack.bitrix.set_deal(deal)
        target = ("deal", deal_id) if where == "deal" else ("row", deal.rows[0].id)
        stack.bitrix.set_raw_fields(*target, {field: value})
    stack.bitrix.set_deal(copy_of_1001(3100))  # a healthy deal in the same SQS batch
    for deal_id in (*cases, 3100):
        post(stack, deal_id)

    one_invocation(stack, len(cases) + 1)

    for deal_id, (_, field, value, fragments) in cases.items():
        [comment] = comments_for(stack, deal_id)
        assert "Черновик счёта в 1С не создан" in comment, (field, value)
        for fragment in fragments:
            assert fragment in comment, (field, value, fragment, comment)
        record = ledger(stack, deal_id)
        assert record is not None, (field, value)
        assert record.status is LedgerStatus.REJECTED, (field, value)
        assert drafts_for(stack, deal_id) == []
    assert len(drafts_for(stack, 3100)) == 1
    assert stack.queued_messages() == 0
    assert dead_letters(stack) == 0


def test_a_deal_outside_the_trigger_stage_is_skipped_whatever_its_numbers(stack: LocalStack) -> None:
    stack.bitrix.set_deal(copy_of_1001(3200, stage_id="PREPARATION", stage_semantic_id="P"))
    stack.bitrix.set_raw_fields("deal", 3200, {"OPPORTUNITY": "NaN"})
    post(stack, 3200)
    one_invocation(stack, 1)
    assert comments_for(stack, 3200) == []
    assert ledger(stack, 3200) is None
    assert stack.queued_messages() == 0


def test_an_unreadable_stage_is_a_rejection(stack: LocalStack) -> None:
    stack.bitrix.set_deal(copy_of_1001(3300))
    stack.bitrix.set_raw_fields("deal", 3300, {"STAGE_ID": {"id": "WON"}})
    post(stack, 3300)
    one_invocation(stack, 1)
    [comment] = comments_for(stack, 3300)
    assert "STAGE_ID" in comment
    record = ledger(stack, 3300)
    assert record is not None
    assert record.status is LedgerStatus.REJECTED


# ---- requisites --------------------------------------------------------------------------------------------


def test_a_null_seller_requisite_rejects_that_deal_only(stack_with_sellers: LocalStack) -> None:
    stack = stack_with_sellers
    nulls = {"RQ_INN": None, "RQ_KPP": None, "NAME": None, "RQ_COMPANY_NAME": None, "RQ_FIRST_NAME": None}
    stack.bitrix.set_raw_fields("requisite", 2, nulls)
    stack.bitrix.set_raw_fields("requisite", 3, {"RQ_INN": {"value": "7704407589"}})
    stack.bitrix.set_deal(copy_of_1001(4001, my_company_requisite_id=2))
    stack.bitrix.set_deal(copy_of_1001(4002, my_company_requisite_id=3))
    stack.bitrix.set_deal(copy_of_1001(4003))
    for deal_id in (4001, 4002, 4003):
        post(stack, deal_id)

    one_invocation(stack, 3)

    [null_seller] = comments_for(stack, 4001)
    assert "Реквизит продавца" in null_seller
    assert "не заполнен ИНН" in null_seller
    [wrong_type] = comments_for(stack, 4002)
    assert "Реквизит продавца 3" in wrong_type
    assert "RQ_INN" in wrong_type
    assert "7704407589" in wrong_type
    for deal_id in (4001, 4002):
        record = ledger(stack, deal_id)
        assert record is not None
        assert record.status is LedgerStatus.REJECTED
    assert len(drafts_for(stack, 4003)) == 1
    assert dead_letters(stack) == 0
    assert stack.queued_messages() == 0


def test_nulls_in_the_buyers_requisite_are_empty_fields_not_a_silent_skip(stack: LocalStack) -> None:
    names = {"RQ_FIRST_NAME": None, "RQ_LAST_NAME": None, "RQ_SECOND_NAME": None, "NAME": None}
    stack.bitrix.set_raw_fields("requisite", 21, names)  # deal 1001's buyer
    stack.bitrix.set_raw_fields("requisite", 23, {"RQ_INN": None})  # deal 1002's buyer
    post(stack, 1001)
    post(stack, 1002)
    one_invocation(stack, 2)

    assert len(drafts_for(stack, 1001)) == 1
    [comment] = comments_for(stack, 1002)
    assert "поле «ИНН»: не заполнен" in comment
    record = ledger(stack, 1002)
    assert record is not None
    assert record.status is LedgerStatus.REJECTED


def test_an_inn_in_fullwidth_digits_is_rejected(stack: LocalStack) -> None:
    fullwidth = "".join(chr(0xFF10 + int(digit)) for digit in "7707083893")
    assert fullwidth.isdigit()  # what str.isdigit() let through
    stack.bitrix.set_raw_fields("requisite", 21, {"RQ_INN": fullwidth})
    post(stack, 1001)
    one_invocation(stack, 1)

    [comment] = comments_for(stack, 1001)
    assert "поле «ИНН»" in comment
    assert fullwidth in comment
    assert "кроме цифр 0–9" in comment
    assert drafts_for(stack, 1001) == []
    assert not any(fullwidth in str(doc) for doc in stack.onec.documents())


# ---- receiver ----------------------------------------------------------------------------------------------


def test_invalid_base64_is_a_400_with_the_reason(stack: LocalStack) -> None:
    event = http_api_event("POST", "/bitrix24/events", "", FORM_HEADERS, b"")
    event["body"] = "event=ONCRMDEALUPDATE&data[FIELDS][ID]=1001"  # flagged as base64, but it is not
    reply = load_handler("webhook_receiver")(event, LambdaContext("WebhookReceiverFunction", timeout_seconds=10))
    assert reply["statusCode"] == 400
    assert "base64" in json.loads(reply["body"])["error"]
    assert stack.queued_messages() == 0


# ---- new invoices past 50 rows -----------------------------------------------------------------------------


def big_invoice(invoice_id: int, rows: int, *, manual: bool) -> SmartInvoice:
    laptop = INVOICE_501.rows[0]
    lines = tuple(
        ProductRow(
            id=invoice_id * 1000 + index,
            product_id=laptop.product_id if index % 2 else 0,
            product_name=laptop.product_name if index % 2 else f"Услуга {index}",
            price=Decimal(100 + index),
            quantity=Decimal(1),
            tax_rate=Decimal(22),
            tax_included=True,
        )
        for index in range(1, rows + 1)
    )
    total = sum((row.price for row in lines), Decimal(0))
    vat = sum(((row.price * 22 / 122).quantize(Decimal("0.01")) for row in lines), Decimal(0))
    return dataclasses.replace(
        INVOICE_501,
        id=invoice_id,
        rows=lines,
        opportunity=Decimal(1) if manual else total,
        tax_value=vat,
        is_manual_opportunity=manual,
    )


@pytest.mark.parametrize(("rows", "manual"), [(120, True), (120, False), (500, False)])
def test_a_new_invoice_is_read_whole_past_its_first_page(stack: LocalStack, rows: int, manual: bool) -> None:
    invoice = big_invoice(7001, rows, manual=manual)
    stack.bitrix.set_smart_invoice(invoice)
    stack.bitrix.reset_log()
    post(stack, 7001, invoice=True)
    one_invocation(stack, 1)

    [draft] = drafts_for(stack, 7001, "invoice")
    assert len(draft["Товары"]) == rows
    assert draft["СуммаДокумента"] == sum((row.price for row in invoice.rows), Decimal(0))
    pages = [
        entry
        for entry in stack.bitrix.request_log
        if entry.method == "batch" and "crm.item.productrow.list" in entry.batch_methods
    ]
    assert len(pages) == 2  # the first page with the invoice, every further page in the one follow-up
    assert pages[1].batch_methods.count("crm.item.productrow.list") == (rows - 1) // 50
