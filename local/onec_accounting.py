"""The accountant's side of the 1C sandbox: bank receipts, the payment registers, posting and unposting.

The sandbox serves, in 1C's shapes (reference/onec.md §7):
- `InformationRegister_СтатусыДокументов`: dimensions `Организация_Key`, `Документ` + `Документ_Type` (composite),
  resources `Статус` (enum СтатусОплатыСчета) and `ДополнительныйСтатус` (shipment);
- `AccumulationRegister_ОплатаСчетов_RecordType`: a turnover register's records — `Recorder` + `Recorder_Type`
  (the receipt), `Period`, `LineNumber`, `Active`, dimensions `Организация_Key`, `СчетНаОплату` +
  `СчетНаОплату_Type`, `СтавкаНДС`, resources `Сумма`, `СуммаНДС` (a turnover register has no `RecordType`);
- `Document_ПоступлениеНаРасчетныйСчет` with its tabular section `РасшифровкаПлатежа` (`СчетНаОплату_Key`,
  `СуммаПлатежа`, `ДоговорКонтрагента_Key`).

`Accountant` is a local control surface, not OData: it plays what a person does in 1C — posts or unposts a
document, records a bank receipt paying an invoice (BP's posting writes `ОплатаСчетов` from the receipt's
`РасшифровкаПлатежа` and recomputes the invoice's status), cancels a receipt, sets a status by hand, marks a
document for deletion. BP recomputes the status only of invoices now `НеОплачен` or `ОплаченЧастично`: a status
set by hand to `Оплачен` or `Отменен` sticks (onec.md §7, point 2).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from local.onec_metadata import (
    CONTRACTS,
    COUNTERPARTIES,
    CURRENCIES,
    INVOICE_SET,
    NAMESPACE,
    ORGANIZATIONS,
    VAT_ENUM,
    ZERO_GUID,
    Edm,
    EntityType,
    Prop,
    TabularSection,
)

if TYPE_CHECKING:
    from local.onec_sandbox import OnecSandbox

RECEIPTS = "Document_ПоступлениеНаРасчетныйСчет"
STATUSES = "InformationRegister_СтатусыДокументов"
PAYMENTS = "AccumulationRegister_ОплатаСчетов_RecordType"
INVOICE_TYPE = f"{NAMESPACE}.{INVOICE_SET}"
RECEIPT_TYPE = f"{NAMESPACE}.{RECEIPTS}"

NOT_PAID = "НеОплачен"
PARTLY_PAID = "ОплаченЧастично"
PAID = "Оплачен"
CANCELLED = "Отменен"
PAYMENT_STATUSES = (NOT_PAID, PARTLY_PAID, PAID, CANCELLED)  # Перечисление.СтатусОплатыСчета
_RECOMPUTED = frozenset({NOT_PAID, PARTLY_PAID})
_EMPTY_DATE = "0001-01-01T00:00:00"


def _prop(name: str, edm: Edm, default: Any, enum: str | None = None) -> Prop:
    return Prop(name, edm, default, enum=enum)


def _key(name: str, reference: str | None = None) -> Prop:
    return Prop(name, Edm.GUID, ZERO_GUID, references=(reference,) if reference else ())


def _composite(name: str) -> tuple[Prop, Prop]:
    return _prop(name, Edm.STRING, ""), _prop(f"{name}_Type", Edm.STRING, f"{NAMESPACE}.Undefined")


_RECEIPT = EntityType(
    RECEIPTS,
    (
        _prop("Ref_Key", Edm.GUID, ZERO_GUID), _prop("DataVersion", Edm.STRING, ""),
        _prop("DeletionMark", Edm.BOOLEAN, False), _prop("Number", Edm.STRING, ""),
        _prop("Date", Edm.DATETIME, _EMPTY_DATE), _prop("Posted", Edm.BOOLEAN, False),
        _prop("ВидОперации", Edm.STRING, "", "ВидыОперацийПоступлениеДенежныхСредств"),
        _key("Организация_Key", ORGANIZATIONS), _key("Контрагент_Key", COUNTERPARTIES),
        _key("ВалютаДокумента_Key", CURRENCIES), _prop("СуммаДокумента", Edm.DOUBLE, 0),
        _prop("НазначениеПлатежа", Edm.STRING, ""), _prop("НомерВходящегоДокумента", Edm.STRING, ""),
        _prop("ДатаВходящегоДокумента", Edm.DATETIME, _EMPTY_DATE), _prop("Комментарий", Edm.STRING, ""),
    ),
    (
        TabularSection(
            "РасшифровкаПлатежа",
            (
                _key("ДоговорКонтрагента_Key", CONTRACTS), _key("СчетНаОплату_Key", INVOICE_SET),
                _prop("СуммаПлатежа", Edm.DOUBLE, 0), _prop("СтавкаНДС", Edm.STRING, "", VAT_ENUM),
                _prop("СуммаНДС", Edm.DOUBLE, 0),
            ),
        ),
    ),
    number_length=11,
)  # fmt: skip
_STATUSES = EntityType(
    STATUSES,
    (
        _key("Организация_Key", ORGANIZATIONS), *_composite("Документ"),
        _prop("Статус", Edm.STRING, "", "СтатусОплатыСчета"),
        _prop("ДополнительныйСтатус", Edm.STRING, "", "СтатусыОтгрузкиСчета"),
    ),
)  # fmt: skip
_PAYMENTS = EntityType(
    PAYMENTS,
    (
        *_composite("Recorder"), _prop("Period", Edm.DATETIME, _EMPTY_DATE), _prop("LineNumber", Edm.INT64, "0"),
        _prop("Active", Edm.BOOLEAN, True), _key("Организация_Key", ORGANIZATIONS), *_composite("СчетНаОплату"),
        _prop("СтавкаНДС", Edm.STRING, "", VAT_ENUM), _prop("Сумма", Edm.DOUBLE, 0), _prop("СуммаНДС", Edm.DOUBLE, 0),
    ),
)  # fmt: skip


def accounting_types() -> dict[str, EntityType]:
    """The sets this module adds to the sandbox (published unless the base or the test hides them)."""
    return {entity_type.name: entity_type for entity_type in (_RECEIPT, _STATUSES, _PAYMENTS)}


class Accountant:
    """What the accountant does in 1C, applied to a running sandbox's base (each call under its lock)."""

    def __init__(self, sandbox: OnecSandbox) -> None:
        self._sandbox = sandbox
        self._receipts = 0

    def post(self, ref: str, entity_set: str = INVOICE_SET) -> None:
        """Posts a document; an invoice gets its status record (`НеОплачен`) if it has none, as BP writes it."""
        self._sandbox.update_document(entity_set, ref, {"Posted": True})
        if entity_set == INVOICE_SET:
            with self._sandbox.editing() as sets:
                invoice = _one(sets[INVOICE_SET], ref)
                if _status_row(sets, ref) is None:
                    sets[STATUSES].append(_new_status(invoice, NOT_PAID))

    def unpost(self, ref: str, entity_set: str = INVOICE_SET) -> None:
        self._sandbox.update_document(entity_set, ref, {"Posted": False})

    def mark_for_deletion(self, ref: str, entity_set: str = INVOICE_SET) -> None:
        self._sandbox.update_document(entity_set, ref, {"DeletionMark": True, "Posted": False})

    def set_status(self, ref: str, status: str) -> None:
        """A status chosen by hand in the invoice's form: it sticks when it is `Оплачен` or `Отменен`."""
        if status not in PAYMENT_STATUSES:
            raise ValueError(f"unknown status {status!r}; one of {PAYMENT_STATUSES}")
        with self._sandbox.editing() as sets:
            invoice = _one(sets[INVOICE_SET], ref)
            row = _status_row(sets, ref)
            if row is None:
                sets[STATUSES].append(_new_status(invoice, status))
            else:
                row["Статус"] = status

    def record_receipt(self, invoice_ref: str, amount: Decimal, *, date: datetime | None = None) -> dict[str, Any]:
        """A posted bank receipt (`ОплатаПокупателя`) paying `amount` against the invoice: its `ОплатаСчетов`
        record and the invoice's recomputed status. Returns the receipt as stored."""
        moment = (date or datetime.now()).replace(microsecond=0, tzinfo=None).isoformat()
        with self._sandbox.editing() as sets:
            invoice = _one(sets[INVOICE_SET], invoice_ref)
            self._receipts += 1
            receipt = {
                **_RECEIPT.defaults(),
                "Ref_Key": str(uuid.uuid4()),
                "DataVersion": "AAAAAQAAAAA=",
                "Number": f"0000-{self._receipts:06d}",
                "Date": moment,
                "Posted": True,
                "ВидОперации": "ОплатаПокупателя",
                "Организация_Key": invoice["Организация_Key"],
                "Контрагент_Key": invoice["Контрагент_Key"],
                "ВалютаДокумента_Key": invoice["ВалютаДокумента_Key"],
                "СуммаДокумента": amount,
                "НазначениеПлатежа": f"Оплата по счету № {invoice['Number']}",
            }
            receipt["РасшифровкаПлатежа"] = [
                {
                    "Ref_Key": receipt["Ref_Key"],
                    "LineNumber": "1",
                    "ДоговорКонтрагента_Key": invoice.get("ДоговорКонтрагента_Key", ZERO_GUID),
                    "СчетНаОплату_Key": invoice["Ref_Key"],
                    "СуммаПлатежа": amount,
                    "СтавкаНДС": "",
                    "СуммаНДС": 0,
                }
            ]
            sets[RECEIPTS].append(receipt)
            _write_payment_records(sets, receipt)
            return dict(receipt)

    def cancel_receipt(self, receipt_ref: str) -> None:
        """The receipt is unposted: its register records go and the invoices it paid are recomputed."""
        with self._sandbox.editing() as sets:
            receipt = _one(sets[RECEIPTS], receipt_ref)
            receipt["Posted"] = False
            invoices = {row["СчетНаОплату_Key"] for row in receipt["РасшифровкаПлатежа"]}
            sets[PAYMENTS][:] = [row for row in sets[PAYMENTS] if row["Recorder"] != receipt["Ref_Key"]]
            for invoice_ref in invoices:
                _recompute_status(sets, invoice_ref)


def _one(rows: list[dict[str, Any]], ref: str) -> dict[str, Any]:
    for row in rows:
        if row.get("Ref_Key") == ref.lower():
            return row
    raise KeyError(ref)


def _status_row(sets: dict[str, list[dict[str, Any]]], invoice_ref: str) -> dict[str, Any] | None:
    for row in sets[STATUSES]:
        if row["Документ"] == invoice_ref.lower() and row["Документ_Type"] == INVOICE_TYPE:
            return row
    return None


def _new_status(invoice: dict[str, Any], status: str) -> dict[str, Any]:
    return {
        "Организация_Key": invoice["Организация_Key"],
        "Документ": invoice["Ref_Key"],
        "Документ_Type": INVOICE_TYPE,
        "Статус": status,
        "ДополнительныйСтатус": "НеОтгружен",
    }


def _write_payment_records(sets: dict[str, list[dict[str, Any]]], receipt: dict[str, Any]) -> None:
    for line in receipt["РасшифровкаПлатежа"]:
        sets[PAYMENTS].append(
            {
                "Recorder": receipt["Ref_Key"],
                "Recorder_Type": RECEIPT_TYPE,
                "Period": receipt["Date"],
                "LineNumber": line["LineNumber"],
                "Active": True,
                "Организация_Key": receipt["Организация_Key"],
                "СчетНаОплату": line["СчетНаОплату_Key"],
                "СчетНаОплату_Type": INVOICE_TYPE,
                "СтавкаНДС": line["СтавкаНДС"],
                "Сумма": line["СуммаПлатежа"],
                "СуммаНДС": line["СуммаНДС"],
            }
        )
        _recompute_status(sets, line["СчетНаОплату_Key"])


def _recompute_status(sets: dict[str, list[dict[str, Any]]], invoice_ref: str) -> None:
    """BP's rule: paid ≥ total → Оплачен, paid > 0 → ОплаченЧастично, else НеОплачен — for invoices whose
    status is now НеОплачен or ОплаченЧастично (or that have none) only."""
    invoice = _one(sets[INVOICE_SET], invoice_ref)
    paid = sum(
        (
            Decimal(str(row["Сумма"]))
            for row in sets[PAYMENTS]
            if row["СчетНаОплату"] == invoice["Ref_Key"] and row["Active"]
        ),
        Decimal(0),
    )
    total = Decimal(str(invoice["СуммаДокумента"]))
    status = PAID if paid >= total > 0 else PARTLY_PAID if paid > 0 else NOT_PAID
    row = _status_row(sets, invoice_ref)
    if row is None:
        sets[STATUSES].append(_new_status(invoice, status))
    elif row["Статус"] in _RECOMPUTED:
        row["Статус"] = status
