"""Money the way Bitrix24 computes it: Decimal, half-up to kopecks, VAT rounded per line."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

KOPECK = Decimal("0.01")
HUNDRED = Decimal(100)


def to_kopecks(amount: Decimal) -> Decimal:
    return amount.quantize(KOPECK, rounding=ROUND_HALF_UP)


def exclusive_price(price: Decimal, rate: Decimal | None) -> Decimal:
    """Bitrix24's PRICE_EXCLUSIVE when the row does not carry one: round(PRICE / (1 + r/100), 2)."""
    if not rate:
        return to_kopecks(price)
    return to_kopecks(price * HUNDRED / (HUNDRED + rate))


@dataclass(frozen=True)
class LineAmounts:
    total: Decimal  # what the buyer pays for the line, VAT included
    vat: Decimal
    net: Decimal  # total without VAT


def line_amounts(
    *, price: Decimal, price_exclusive: Decimal, quantity: Decimal, rate: Decimal | None, tax_included: bool
) -> LineAmounts:
    """One product row: `price` is per unit with VAT after discount, `price_exclusive` the same without VAT.

    Tax included: total = round(PRICE*QTY), VAT = round(PRICE*QTY*r/(100+r)).
    Tax on top:   net = round(PRICE_EXCLUSIVE*QTY), VAT = round(PRICE_EXCLUSIVE*QTY*r/100), total = net + VAT.
    """
    r = rate or Decimal(0)
    if tax_included:
        gross = price * quantity
        total = to_kopecks(gross)
        vat = to_kopecks(gross * r / (HUNDRED + r))
        return LineAmounts(total=total, vat=vat, net=total - vat)
    base = price_exclusive * quantity
    net = to_kopecks(base)
    vat = to_kopecks(base * r / HUNDRED)
    return LineAmounts(total=net + vat, vat=vat, net=net)
