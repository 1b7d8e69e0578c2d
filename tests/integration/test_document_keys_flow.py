"""The ledger is the first truth, 1C is looked up by exact key only after an unknown outcome, and narrowly
(DESIGN §3), through the real handlers with moto and both sandboxes."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from invoice_bridge.ledger.deals import Ledger
from invoice_bridge.ledger.records import LedgerStatus
from invoice_bridge.onec.document_keys import marker_of
from local.onec.model import INVOICE_SET
from local.onec.sandbox import OnecSandbox, RequestLogEntry
from local.seed import DEALS, ONEC_PASSWORD, ONEC_USERNAME, PORTAL_MEMBER_ID
from local.stack import LocalStack
from tests.integration.test_bridge_end_to_end import drain, post, webhook
from tests.unit.test_document_keys import spellings

TEMPLATE = next(deal for deal in DEALS if deal.id == 1001)


def key(deal_id: int) -> str:
    return f"b24:{PORTAL_MEMBER_ID}:deal:{deal_id}"


def documents_of(stack: LocalStack, deal_id: int) -> list[dict[str, Any]]:
    """The drafts whose marker is exactly this deal's (not a substring of a comment)."""
    return stack.onec.documents(
        INVOICE_SET, where=lambda row: marker_of(str(row.get("Комментарий", ""))) == key(deal_id)
    )


def ledger_of(stack: LocalStack) -> Ledger:
    assert stack.resources is not None
    return Ledger(stack.dynamodb, stack.resources.table_name)


def add_deal(stack: LocalStack, deal_id: int, title: str, opportunity: Decimal | None = None) -> None:
    """A won deal like 1001 (same buyer, so only the marker tells the documents apart)."""
    deal = dataclasses.replace(TEMPLATE, id=deal_id, title=title)
    if opportunity is not None:
        # the first row: the laptops, 22 % included
        deal = dataclasses.replace(deal, rows=deal.rows[:1], opportunity=opportunity, tax_value=opportunity * 22 / 122)
    stack.bitrix.set_deal(deal)


def document_reads(log: list[RequestLogEntry]) -> list[RequestLogEntry]:
    return [e for e in log if e.method == "GET" and e.entity_set == INVOICE_SET]


def lose_the_next_create_before_1c_stores_it(stack: LocalStack) -> None:
    """The POST fails without 1C storing anything: to the bridge the outcome is unknown."""
    stack.onec.fail_next(1, status=504, code="-1", message="Gateway Timeout", http_method="POST")


def test_a_new_deal_costs_one_1c_write_and_no_look_up(stack: LocalStack) -> None:
    post(stack, webhook(1001))  # cold: reads $metadata and catalogs, but never looks for a document
    drain(stack)
    assert len(documents_of(stack, 1001)) == 1
    assert document_reads(stack.onec.request_log) == []

    add_deal(stack, 20001, "Second deal of the same buyer")
    stack.onec.reset_log()
    post(stack, webhook(20001))  # warm: catalogs cached
    drain(stack)

    assert [(e.method, e.entity_set, e.status) for e in stack.onec.request_log] == [("POST", INVOICE_SET, 201)]
    [document] = documents_of(stack, 20001)
    record = ledger_of(stack).get(f"{PORTAL_MEMBER_ID}#deal#20001")
    assert record is not None
    assert record.onec_ref_key == document["Ref_Key"]


def test_an_unknown_outcome_retry_finds_the_document_by_exact_key_with_a_narrow_query(stack: LocalStack) -> None:
    stack.onec.fail_next(1, status=504, code="-1", message="Gateway Timeout", after_write=True, http_method="POST")
    post(stack, webhook(1001))
    drain(stack)

    [document] = documents_of(stack, 1001)
    posts = [e.status for e in stack.onec.request_log if e.method == "POST"]
    assert posts == [504]  # stored once, its answer lost; the retry did not create again
    [look_up] = [e for e in document_reads(stack.onec.request_log) if e.key is None]
    condition = look_up.query["$filter"]
    assert "Date ge datetime'" in condition
    assert f"Контрагент_Key eq guid'{document['Контрагент_Key']}'" in condition
    assert "substringof" not in condition
    assert "Комментарий" not in condition
    record = ledger_of(stack).get(f"{PORTAL_MEMBER_ID}#deal#1001")
    assert record is not None
    assert record.status is LedgerStatus.CREATED
    assert record.onec_ref_key == document["Ref_Key"]
    assert record.outcome_unknown_since() is None  # recorded: later attempts read it by Ref_Key


def test_a_failure_before_the_1c_write_creates_without_a_look_up(stack: LocalStack) -> None:
    stack.onec.fail_next(1, status=503, code="-1", message="Сервис недоступен", http_method="GET")  # $metadata
    post(stack, webhook(1001))
    drain(stack)

    assert len(documents_of(stack, 1001)) == 1
    assert [e for e in document_reads(stack.onec.request_log) if e.key is None] == []


def test_a_document_the_ledger_knows_is_read_by_its_ref_key(stack: LocalStack) -> None:
    post(stack, webhook(1001))
    drain(stack)
    [before] = documents_of(stack, 1001)
    stack.onec.reset_log()
    add_deal(stack, 1001, TEMPLATE.title, opportunity=Decimal("244000.00"))
    post(stack, webhook(1001))
    drain(stack)

    [after] = documents_of(stack, 1001)
    assert after["Ref_Key"] == before["Ref_Key"]
    assert after["СуммаДокумента"] == Decimal("244000")
    reads = document_reads(stack.onec.request_log)
    assert [(e.key, e.rows_examined) for e in reads] == [(before["Ref_Key"], 1)]


SPELLINGS = range(len(spellings(PORTAL_MEMBER_ID, 1)))


@pytest.mark.parametrize("spelling", SPELLINGS, ids=[repr(s) for s in spellings("M", 1)])
def test_a_title_carrying_another_deals_key_never_joins_the_two_documents(stack: LocalStack, spelling: int) -> None:
    first, second = 30001, 30002
    first_title = "Поставка " + spellings(PORTAL_MEMBER_ID, second)[spelling]
    # each title carries the other deal's key in this spelling; the buyer and the day are the same
    add_deal(stack, first, first_title)
    add_deal(stack, second, "Поставка " + spellings(PORTAL_MEMBER_ID, first)[spelling])
    post(stack, webhook(first))
    drain(stack)
    [first_document] = documents_of(stack, first)

    # the second deal's create is lost before 1C stores it: its retry looks 1C up by key
    lose_the_next_create_before_1c_stores_it(stack)
    post(stack, webhook(second))
    drain(stack)
    assert [e for e in document_reads(stack.onec.request_log) if e.key is None] != []  # it did look

    [second_document] = documents_of(stack, second)
    assert second_document["Ref_Key"] != first_document["Ref_Key"]
    [first_now] = documents_of(stack, first)
    assert first_now["DataVersion"] == first_document["DataVersion"]  # neither overwritten…
    records = ledger_of(stack).get_many(f"{PORTAL_MEMBER_ID}#deal#{d}" for d in (first, second))
    assert {r.pk: r.onec_ref_key for r in records.values()} == {  # …nor "found" by the other deal
        f"{PORTAL_MEMBER_ID}#deal#{first}": first_document["Ref_Key"],
        f"{PORTAL_MEMBER_ID}#deal#{second}": second_document["Ref_Key"],
    }
    for document in (first_document, second_document):
        assert str(document["Комментарий"]).count("[") == 1  # the title's brackets were neutralised

    # the first deal changes: its own draft is updated, the second deal's is untouched
    add_deal(stack, first, first_title, opportunity=Decimal("244000.00"))
    post(stack, webhook(first))
    drain(stack)
    [first_after, second_after] = documents_of(stack, first) + documents_of(stack, second)
    assert first_after["Ref_Key"] == first_document["Ref_Key"]
    assert first_after["СуммаДокумента"] == Decimal("244000")
    assert second_after["DataVersion"] == second_document["DataVersion"]


# ---- the sandbox's model of 1C's indexes, and a base of 200,000 documents ---------------------------------


def query(sandbox: OnecSandbox, options: Mapping[str, str]) -> RequestLogEntry:
    answer = requests.get(
        sandbox.url + INVOICE_SET,
        params={"$format": "json", **options},
        auth=(ONEC_USERNAME, ONEC_PASSWORD),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return sandbox.request_log[-1]


@pytest.fixture(scope="module")
def big_sandbox() -> OnecSandbox:
    """200,000 posted buyer invoices over three years up to now, a base of a company with history."""
    sandbox = OnecSandbox()
    now = datetime.now().replace(microsecond=0)
    sandbox.seed_documents(INVOICE_SET, 200_000, first=now - timedelta(days=3 * 365), last=now)
    return sandbox


def test_the_sandbox_counts_the_rows_each_query_examines(big_sandbox: OnecSandbox) -> None:
    with big_sandbox:
        now = datetime.now().replace(microsecond=0)
        week = (now - timedelta(days=7)).isoformat()
        by_date = query(big_sandbox, {"$filter": f"Date ge datetime'{week}' and DeletionMark eq false", "$top": "1"})
        assert 1_200 < by_date.rows_examined < 1_400  # one week of ~183 documents a day
        by_text = query(big_sandbox, {"$filter": "substringof('[b24:', Комментарий)", "$top": "1"})
        assert by_text.rows_examined == 200_000
        either = query(big_sandbox, {"$filter": f"Date ge datetime'{week}' or Posted eq false", "$top": "1"})
        assert either.rows_examined == 200_000  # an index serves a top-level `and` only
        ref = big_sandbox.documents(INVOICE_SET, where=lambda row: row["Number"] == "ИМ000000007")[0]["Ref_Key"]
        by_key = query(big_sandbox, {"$filter": f"Ref_Key eq guid'{ref}'"})
        assert by_key.rows_examined == 1


def test_the_unknown_outcome_look_up_examines_few_rows_of_200_000(big_sandbox: OnecSandbox) -> None:
    big_sandbox.reset_log()
    stack = LocalStack(onec=big_sandbox).start(poll=False)
    try:
        stack.onec.fail_next(1, status=504, code="-1", message="Gateway Timeout", after_write=True, http_method="POST")
        post(stack, webhook(1001))
        drain(stack)

        [document] = documents_of(stack, 1001)
        [look_up] = [e for e in document_reads(stack.onec.request_log) if e.key is None]
        assert 0 < look_up.rows_examined <= 1_000
        assert [e.status for e in stack.onec.request_log if e.method == "POST"] == [504]
        record = ledger_of(stack).get(f"{PORTAL_MEMBER_ID}#deal#1001")
        assert record is not None
        assert record.onec_ref_key == document["Ref_Key"]
    finally:
        stack.stop()
