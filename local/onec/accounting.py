"""The accountant's side of the 1C sandbox: what a person does in 1C after the bridge has written its documents.

`Accountant` is a local control surface, not OData: it posts or unposts a document, records a bank receipt paying
an invoice (BP's posting writes `ОплатаСчетов` from the receipt's `РасшифровкаПлатежа` and recomputes the
invoice's status, :mod:`local.onec.registers`), cancels a receipt, sets a status by hand, marks a document for
deletion.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from local.onec.documents import RECEIPT, RECEIPTS
from local.onec.model import INVOICE_SET, ZERO_GUID
from local.onec.registers import (
    NOT_PAID,
    PAYMENT_STATUSES,
    PAYMENTS,
    STATUSES,
    new_status,
    one,
    recompute_status,
    status_row,
    write_payment_records,
)

if TYPE_CHECKING:
    from local.onec.sandbox import OnecSandbox


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
                invoice = one(sets[INVOICE_SET], ref)
                if status_row(sets, ref) is None:
                    sets[STATUSES].append(new_status(invoice, NOT_PAID))

    def unpost(self, ref: str, entity_set: str = INVOICE_SET) -> None:
        self._sandbox.update_document(entity_set, ref, {"Posted": False})

    def mark_for_deletion(self, ref: str, entity_set: str = INVOICE_SET) -> None:
        self._sandbox.update_document(entity_set, ref, {"DeletionMark": True, "Posted": False})

    def set_status(self, ref: str, status: str) -> None:
        """A status chosen by hand in the invoice's form: it sticks when it is `Оплачен` or `Отменен`."""
        if status not in PAYMENT_STATUSES:
            raise ValueError(f"unknown status {status!r}; one of {PAYMENT_STATUSES}")
        with self._sandbox.editing() as sets:
            invoice = one(sets[INVOICE_SET], ref)
            row = status_row(sets, ref)
            if row is None:
                sets[STATUSES].append(new_status(invoice, status))
            else:
                row["Статус"] = status

    def record_receipt(self, invoice_ref: str, amount: Decimal, *, date: datetime | None = None) -> dict[str, Any]:
        """A posted bank receipt (`ОплатаПокупателя`) paying `amount` against the invoice: its `ОплатаСчетов`
        record and the invoice's recomputed status. Returns the receipt as stored."""
        moment = (date or datetime.now()).replace(microsecond=0, tzinfo=None).isoformat()
        with self._sandbox.editing() as sets:
            invoice = one(sets[INVOICE_SET], invoice_ref)
            self._receipts += 1
            receipt = {
                **RECEIPT.defaults(),
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
            write_payment_records(sets, receipt)
            return dict(receipt)

    def cancel_receipt(self, receipt_ref: str) -> None:
        """The receipt is unposted: its register records go and the invoices it paid are recomputed."""
        with self._sandbox.editing() as sets:
            receipt = one(sets[RECEIPTS], receipt_ref)
            receipt["Posted"] = False
            invoices = {row["СчетНаОплату_Key"] for row in receipt["РасшифровкаПлатежа"]}
            sets[PAYMENTS][:] = [row for row in sets[PAYMENTS] if row["Recorder"] != receipt["Ref_Key"]]
            for invoice_ref in invoices:
                recompute_status(sets, invoice_ref)
