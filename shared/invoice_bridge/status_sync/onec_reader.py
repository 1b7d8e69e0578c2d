"""Reads the state of many 1C documents in few requests (reference/onec.md §7).

Per group of at most CHUNK documents, three queries joined by `or`, each with `$select`:
- the documents themselves by `Ref_Key` (`Posted`, `DeletionMark`, `СуммаДокумента`, number and date);
- buyer invoices: `InformationRegister_СтатусыДокументов` by `Документ eq cast(guid'…', 'Document_…')`;
  sales: the tax invoices issued on them, `Document_СчетФактураВыданный` by `ДокументОснование eq cast(…)`;
- buyer invoices: `AccumulationRegister_ОплатаСчетов_RecordType` by `СчетНаОплату eq cast(…)`, the turnover summed
  here (the register's `Turnovers(Condition=…)` function has unverified quoting, onec.md §7).
Then at most one query for the numbers of receipts not seen before (up to CHUNK of them; a payment whose receipt
is not read this time is told without its number). So a sweep costs at most 3·⌈documents / CHUNK⌉ + 1 requests.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from invoice_bridge.onec.client import ODataClient
from invoice_bridge.onec.documents import BUYER_INVOICES, SALES, TAX_INVOICES
from invoice_bridge.onec.literals import guid_literal, string_literal
from invoice_bridge.status_sync.state import DocumentState, Payment

CHUNK = 40
STATUSES = "InformationRegister_СтатусыДокументов"
PAYMENTS = "AccumulationRegister_ОплатаСчетов_RecordType"
RECEIPTS = "Document_ПоступлениеНаРасчетныйСчет"
_DOCUMENT_FIELDS = ("Ref_Key", "Number", "Date", "Posted", "DeletionMark", "СуммаДокумента")

# What the OData composition must publish for the status sync of each document profile.
STATUS_SETS: dict[str, tuple[str, ...]] = {
    "buyer_invoice": (BUYER_INVOICES, STATUSES, PAYMENTS, RECEIPTS),
    "sale_and_tax_invoice": (SALES, TAX_INVOICES),
}


@dataclass(frozen=True)
class ReadOutcome:
    states: dict[str, DocumentState]
    requests: int


def read_states(
    client: ODataClient, profile: str, refs: Sequence[str], *, known_receipts: Iterable[str] = ()
) -> ReadOutcome:
    """The state of each document (by Ref_Key, lower case); `known_receipts` need not be read again."""
    before = client.request_count
    wanted = list(dict.fromkeys(ref.lower() for ref in refs))
    states: dict[str, DocumentState] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        if profile == "sale_and_tax_invoice":
            states.update(_read_sales(client, chunk))
        else:
            states.update(_read_invoices(client, chunk))
    if profile != "sale_and_tax_invoice":
        states = _with_receipt_numbers(client, states, set(known_receipts))
    return ReadOutcome(states=states, requests=client.request_count - before)


def _any_of(refs: Sequence[str], condition: Callable[[str], str]) -> str:
    return " or ".join(condition(ref) for ref in refs)


def _typed(ref: str, entity_set: str) -> str:
    return f"cast({guid_literal(ref)}, {string_literal(entity_set)})"


def _documents(client: ODataClient, entity_set: str, refs: Sequence[str]) -> dict[str, dict[str, Any]]:
    rows = client.query(
        entity_set, filter=_any_of(refs, lambda ref: f"Ref_Key eq {guid_literal(ref)}"), select=_DOCUMENT_FIELDS
    )
    return {str(row.get("Ref_Key", "")).lower(): row for row in rows}


def _state(ref: str, row: dict[str, Any] | None, **extra: Any) -> DocumentState:
    if row is None:
        return DocumentState(ref=ref, found=False)
    return DocumentState(
        ref=ref,
        found=True,
        number=str(row.get("Number", "")),
        date=str(row.get("Date", "")),
        total=_decimal(row.get("СуммаДокумента")),
        posted=row.get("Posted") is True,
        deletion_mark=row.get("DeletionMark") is True,
        **extra,
    )


def _read_invoices(client: ODataClient, refs: Sequence[str]) -> dict[str, DocumentState]:
    documents = _documents(client, BUYER_INVOICES, refs)
    statuses = client.query(
        STATUSES,
        filter=_any_of(refs, lambda ref: f"Документ eq {_typed(ref, BUYER_INVOICES)}"),
        select=("Документ", "Документ_Type", "Статус"),
    )
    status_of = {
        str(row.get("Документ", "")).lower(): str(row.get("Статус", ""))
        for row in statuses
        if str(row.get("Документ_Type", "")).endswith(BUYER_INVOICES)
    }
    records = client.query(
        PAYMENTS,
        filter=_any_of(refs, lambda ref: f"СчетНаОплату eq {_typed(ref, BUYER_INVOICES)}"),
        select=("Recorder", "Recorder_Type", "Period", "Active", "СчетНаОплату", "Сумма"),
    )
    # one payment per receipt and invoice: a receipt may pay an invoice in several lines (VAT rates)
    amounts: dict[str, dict[str, Decimal]] = defaultdict(dict)
    dates: dict[str, str] = {}
    for row in records:
        if row.get("Active") is False:
            continue
        invoice, receipt = str(row.get("СчетНаОплату", "")).lower(), str(row.get("Recorder", "")).lower()
        amounts[invoice][receipt] = amounts[invoice].get(receipt, Decimal(0)) + _decimal(row.get("Сумма"))
        dates[receipt] = str(row.get("Period", ""))
    states = {}
    for ref in refs:
        payments = tuple(
            Payment(receipt=receipt, amount=amount, date=dates.get(receipt, ""))
            for receipt, amount in sorted(amounts.get(ref, {}).items(), key=lambda item: dates.get(item[0], ""))
            if amount != 0
        )
        states[ref] = _state(ref, documents.get(ref), status=status_of.get(ref, ""), payments=payments)
    return states


def _with_receipt_numbers(
    client: ODataClient, states: dict[str, DocumentState], known: set[str]
) -> dict[str, DocumentState]:
    new = sorted({p.receipt for state in states.values() for p in state.payments if p.receipt not in known})
    if not new:
        return states
    rows = client.query(
        RECEIPTS,
        filter=_any_of(new[:CHUNK], lambda ref: f"Ref_Key eq {guid_literal(ref)}"),
        select=("Ref_Key", "Number"),
    )
    numbers = {str(row.get("Ref_Key", "")).lower(): str(row.get("Number", "")) for row in rows}
    return {
        ref: replace(
            state,
            payments=tuple(replace(p, number=numbers.get(p.receipt, p.number)) for p in state.payments),
        )
        for ref, state in states.items()
    }


def _read_sales(client: ODataClient, refs: Sequence[str]) -> dict[str, DocumentState]:
    documents = _documents(client, SALES, refs)
    tax_invoices = client.query(
        TAX_INVOICES,
        filter=_any_of(refs, lambda ref: f"ДокументОснование eq {_typed(ref, SALES)}"),
        select=("Number", "ДокументОснование", "DeletionMark"),
    )
    issued = {
        str(row.get("ДокументОснование", "")).lower(): str(row.get("Number", ""))
        for row in tax_invoices
        if row.get("DeletionMark") is not True
    }
    return {ref: _state(ref, documents.get(ref), tax_invoice=issued.get(ref, "")) for ref in refs}


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value is not None else Decimal(0)
    except ArithmeticError:
        return Decimal(0)
