"""What the manager reads in the deal's timeline about the document's life in 1C, in Russian and 1C's terms.

All of the status sync's manager-facing texts are here, in one place, until the message catalog takes them.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from invoice_bridge.status_sync.state import DocumentState, EventKind, Payment, Transition

NBSP = "\u00a0"
_DOCUMENT_NAMES = {"buyer_invoice": "Счёт", "sale_and_tax_invoice": "Реализация"}
# participles agree with the document's gender: счёт проведён, реализация проведена
_FEMININE = {"проведён": "проведена", "оплачен": "оплачена", "отменён": "отменена", "помечен": "помечена"}


def money(value: Decimal) -> str:
    """`30 000,00 ₽`: a space between thousands, a comma before kopecks."""
    whole, _, kopecks = f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}".partition(".")
    return whole.replace(",", NBSP) + "," + kopecks + NBSP + "₽"


def day(moment: str) -> str:
    """1C's `2026-12-04T10:15:00` as `04.12.2026`."""
    date = moment[:10]
    return f"{date[8:10]}.{date[5:7]}.{date[0:4]}" if len(date) == 10 else moment


def _payment(payment: Payment) -> str:
    number = f"№ {payment.number} " if payment.number else ""
    return f"платёж {number}от {day(payment.date)} на {money(payment.amount)}"


def comment(profile: str, state: DocumentState, change: Transition) -> str:
    """One timeline comment for everything that happened to the document since the last one."""
    name = _DOCUMENT_NAMES.get(profile, "Документ")
    document = f"{name} № {state.number} от {day(state.date)}" if state.number else name
    of_total = f"{money(state.paid)} из {money(state.total)}"
    paid_by = ", ".join(_payment(payment) for payment in change.new_payments)
    lines: list[str] = []
    for event in change.events:
        if event is EventKind.POSTED:
            lines.append(f"{document} на {money(state.total)} проведён бухгалтером в 1С.")
        elif event is EventKind.TAX_INVOICE:
            lines.append(f"По документу {document} выставлен счёт-фактура № {state.tax_invoice}.")
        elif event is EventKind.PAYMENT_CANCELLED:
            amounts = ", ".join(money(amount) for _, amount in change.cancelled_payments)
            lines.append(f"В 1С отменена оплата по документу {document} ({amounts}); оплачено {of_total}.")
        elif event is EventKind.PAID_IN_PART:
            lines.append(f"{document} оплачен частично: {of_total}" + (f" ({paid_by})." if paid_by else "."))
        elif event is EventKind.PAID_IN_FULL:
            lines.append(f"{document} оплачен полностью: {of_total}" + (f" ({paid_by})." if paid_by else "."))
        elif event is EventKind.UNPOSTED:
            lines.append(f"{document}: бухгалтер отменил проведение в 1С.")
        elif event is EventKind.CANCELLED:
            lines.append(f"{document} отменён в 1С (статус «Отменен»).")
        elif event is EventKind.DELETED:
            lines.append(
                f"{document} помечен на удаление в 1С." if state.found else f"{document} больше не найден в 1С."
            )
    text = "\n".join(lines)
    if profile == "sale_and_tax_invoice":
        for masculine, feminine in _FEMININE.items():
            text = text.replace(f" {masculine} ", f" {feminine} ")
    return text
