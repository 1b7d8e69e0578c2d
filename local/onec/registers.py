"""The registers of the 1C sandbox, in 1C's shapes (reference/onec.md §7), and what BP writes to them when a bank
receipt is posted or cancelled.

- `InformationRegister_СтатусыДокументов`: dimensions `Организация_Key`, `Документ` + `Документ_Type` (composite),
  resources `Статус` (enum СтатусОплатыСчета) and `ДополнительныйСтатус` (shipment);
- `AccumulationRegister_ОплатаСчетов_RecordType`: a turnover register's records — `Recorder` + `Recorder_Type`
  (the receipt), `Period`, `LineNumber`, `Active`, dimensions `Организация_Key`, `СчетНаОплату` +
  `СчетНаОплату_Type`, `СтавкаНДС`, resources `Сумма`, `СуммаНДС` (a turnover register has no `RecordType`).

BP recomputes the status only of invoices now `НеОплачен` or `ОплаченЧастично`: a status set by hand to `Оплачен`
or `Отменен` sticks (onec.md §7, point 2).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from local.onec.documents import RECEIPTS
from local.onec.model import (
    INVOICE_SET,
    NAMESPACE,
    ORGANIZATIONS,
    EntityType,
    composite,
    date,
    enum,
    flag,
    integer,
    key,
    number,
)
from local.onec.releases import VAT_ENUM
from local.onec.store import Rows

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

_STATUSES = EntityType(
    STATUSES,
    (
        key("Организация_Key", ORGANIZATIONS), *composite("Документ"), enum("Статус", "СтатусОплатыСчета"),
        enum("ДополнительныйСтатус", "СтатусыОтгрузкиСчета"),
    ),
)  # fmt: skip
_PAYMENTS = EntityType(
    PAYMENTS,
    (
        *composite("Recorder"), date("Period"), integer("LineNumber"), flag("Active", True),
        key("Организация_Key", ORGANIZATIONS), *composite("СчетНаОплату"), enum("СтавкаНДС", VAT_ENUM),
        number("Сумма"), number("СуммаНДС"),
    ),
)  # fmt: skip


def register_types() -> tuple[EntityType, ...]:
    """The registers, in publication order."""
    return (_STATUSES, _PAYMENTS)


def one(rows: list[dict[str, Any]], ref: str) -> dict[str, Any]:
    """The row with this Ref_Key; KeyError if there is none."""
    for row in rows:
        if row.get("Ref_Key") == ref.lower():
            return row
    raise KeyError(ref)


def status_row(sets: Rows, invoice_ref: str) -> dict[str, Any] | None:
    for row in sets[STATUSES]:
        if row["Документ"] == invoice_ref.lower() and row["Документ_Type"] == INVOICE_TYPE:
            return row
    return None


def new_status(invoice: dict[str, Any], status: str) -> dict[str, Any]:
    return {
        "Организация_Key": invoice["Организация_Key"],
        "Документ": invoice["Ref_Key"],
        "Документ_Type": INVOICE_TYPE,
        "Статус": status,
        "ДополнительныйСтатус": "НеОтгружен",
    }


def write_payment_records(sets: Rows, receipt: dict[str, Any]) -> None:
    """A posted receipt's `ОплатаСчетов` records, one per line of `РасшифровкаПлатежа`, and the statuses."""
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
        recompute_status(sets, line["СчетНаОплату_Key"])


def recompute_status(sets: Rows, invoice_ref: str) -> None:
    """BP's rule: paid ≥ total → Оплачен, paid > 0 → ОплаченЧастично, else НеОплачен — for invoices whose
    status is now НеОплачен or ОплаченЧастично (or that have none) only."""
    invoice = one(sets[INVOICE_SET], invoice_ref)
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
    row = status_row(sets, invoice_ref)
    if row is None:
        sets[STATUSES].append(new_status(invoice, status))
    elif row["Статус"] in _RECOMPUTED:
        row["Статус"] = status
