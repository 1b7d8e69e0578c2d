"""What the manager reads in the deal's timeline about the document's life in 1C: one catalog text per comment,
a line per event. The words, money, dates and the participle's agreement with the document's kind
(Счёт … проведён, Реализация … проведена) are the message catalog's; this module picks the texts and their facts.
"""

from __future__ import annotations

from datetime import date

from invoice_bridge.comments import DOCUMENT_NAMES
from invoice_bridge.messages import Money, Msg, Text, t
from invoice_bridge.status_sync.state import DocumentState, EventKind, Payment, Transition


def status_comment(profile: str, state: DocumentState, change: Transition, *, number: str = "") -> Text:
    """One timeline comment for everything that happened to the document since the last one; `number` is the
    ledger's, for a document 1C no longer returns."""
    document = _document(profile, state, number)
    total, paid = Money(state.total), Money(state.paid)
    payments: Text | str = ""
    if change.new_payments:
        payments = t(Msg.STATUS_PAYMENTS, payments=tuple(_payment(payment) for payment in change.new_payments))
    events: dict[EventKind, Text] = {
        EventKind.POSTED: t(Msg.STATUS_POSTED, document=document, total=total),
        EventKind.TAX_INVOICE: t(Msg.STATUS_TAX_INVOICE, document=document, tax_invoice=state.tax_invoice),
        EventKind.PAYMENT_CANCELLED: t(
            Msg.STATUS_PAYMENT_CANCELLED,
            document=document,
            amounts=tuple(Money(amount) for _, amount in change.cancelled_payments),
            paid=paid,
            total=total,
        ),
        EventKind.PAID_IN_PART: t(
            Msg.STATUS_PAID_IN_PART, document=document, paid=paid, total=total, payments=payments
        ),
        EventKind.PAID_IN_FULL: t(
            Msg.STATUS_PAID_IN_FULL, document=document, paid=paid, total=total, payments=payments
        ),
        EventKind.UNPOSTED: t(Msg.STATUS_UNPOSTED, document=document),
        EventKind.CANCELLED: t(Msg.STATUS_CANCELLED, document=document),
        EventKind.DELETED: t(Msg.STATUS_DELETED if state.found else Msg.STATUS_NOT_FOUND, document=document),
    }
    return t(Msg.STATUS_COMMENT, events=tuple(events[event] for event in change.events))


def _document(profile: str, state: DocumentState, ledger_number: str) -> Text:
    kind = t(DOCUMENT_NAMES.get(profile, Msg.DOC_BUYER_INVOICE))
    number = state.number or ledger_number
    if not number:
        return kind
    day = _day(state.date)
    if day is None:
        return t(Msg.STATUS_DOCUMENT_UNDATED, document=kind, number=number)
    return t(Msg.STATUS_DOCUMENT, document=kind, number=number, date=day)


def _payment(payment: Payment) -> Text:
    amount = Money(payment.amount)
    day = _day(payment.date) or payment.date
    if payment.number:
        return t(Msg.STATUS_PAYMENT, number=payment.number, date=day, amount=amount)
    return t(Msg.STATUS_PAYMENT_UNNUMBERED, date=day, amount=amount)


def _day(moment: str) -> date | None:
    """1C's `2026-12-04T10:15:00` as a date (the catalog writes it dd.mm.yyyy)."""
    try:
        return date.fromisoformat(moment[:10])
    except ValueError:
        return None
