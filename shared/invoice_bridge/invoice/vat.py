"""Which VAT rates are legal on a document date (Russian Tax Code art. 164, as amended for 2026)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from invoice_bridge.invoice.model import VatRate
from invoice_bridge.messages import Msg, Text, t

# rate → (first day, last day) it may appear on a new document
_VALIDITY: dict[VatRate, tuple[date, date]] = {
    VatRate.VAT22: (date(2026, 1, 1), date.max),
    VatRate.VAT20: (date(2019, 1, 1), date(2025, 12, 31)),
    VatRate.VAT10: (date.min, date.max),
    VatRate.VAT7: (date(2025, 1, 1), date.max),
    VatRate.VAT5: (date(2025, 1, 1), date.max),
    VatRate.VAT0: (date.min, date.max),
    VatRate.WITHOUT_VAT: (date.min, date.max),
}
_BY_PERCENT = {
    Decimal(22): VatRate.VAT22,
    Decimal(20): VatRate.VAT20,
    Decimal(10): VatRate.VAT10,
    Decimal(7): VatRate.VAT7,
    Decimal(5): VatRate.VAT5,
    Decimal(0): VatRate.VAT0,
}


def vat_rate_on(percent: Decimal | None, document_date: date) -> VatRate | Text:
    """The 1C rate for a Bitrix24 TAX_RATE (None = without VAT), or what is wrong with it."""
    if percent is None:
        return VatRate.WITHOUT_VAT
    rate = _BY_PERCENT.get(percent)
    if rate is None:
        return t(Msg.VAT_UNKNOWN_RATE, percent=percent)
    first, last = _VALIDITY[rate]
    if not first <= document_date <= last:
        if rate is VatRate.VAT20:
            return t(Msg.VAT_20_EXPIRED, date=document_date)
        return t(Msg.VAT_NOT_VALID, percent=percent, date=document_date)
    return rate
