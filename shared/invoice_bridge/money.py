"""Money the way Bitrix24 computes it: Decimal, half-up to kopecks, VAT rounded per line."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

KOPECK = Decimal("0.01")
HUNDRED = Decimal(100)
MAX_SIGNIFICANT_DIGITS = 15  # what Bitrix24 (PHP doubles) and 1C's Number(15, 2) keep exactly
MAX_WHOLE_DIGITS = 13  # 1C money fields are Number(15, 2)
MAX_QUANTITY_DECIMALS = 4  # Bitrix24 rounds QUANTITY to 4 decimals
# Amounts within the bounds below multiply and add without rounding in this precision.
_PRECISION = 60


def _significant_digits(value: Decimal) -> int:
    return 1 if value.is_zero() else len(value.normalize().as_tuple().digits)


def _whole_digits(value: Decimal) -> int:
    return max(0, value.adjusted() + 1)


def amount_problem(value: Decimal) -> str | None:
    """None for a finite amount 1C and Bitrix24 both hold exactly, else what is wrong with it."""
    if not value.is_finite():
        return "is not a finite number"
    if _significant_digits(value) > MAX_SIGNIFICANT_DIGITS:
        return f"has more than {MAX_SIGNIFICANT_DIGITS} significant digits"
    if _whole_digits(value) > MAX_WHOLE_DIGITS:
        return f"is too large (more than {MAX_WHOLE_DIGITS} digits before the decimal point)"
    return None


def quantity_problem(value: Decimal) -> str | None:
    if (problem := amount_problem(value)) is not None:
        return problem
    if -value.normalize().as_tuple().exponent > MAX_QUANTITY_DECIMALS:  # type: ignore[operator]
        return f"has more than {MAX_QUANTITY_DECIMALS} decimals"
    return None


def percent_problem(value: Decimal) -> str | None:
    if (problem := amount_problem(value)) is not None:
        return problem
    if not Decimal(0) <= value <= HUNDRED:
        return "is not between 0 and 100"
    return None


def to_kopecks(amount: Decimal) -> Decimal:
    return amount.quantize(KOPECK, rounding=ROUND_HALF_UP)


def exclusive_price(price: Decimal, rate: Decimal | None) -> Decimal:
    """Bitrix24's PRICE_EXCLUSIVE when the row does not carry one: round(PRICE / (1 + r/100), 2)."""
    if not rate:
        return to_kopecks(price)
    with localcontext(prec=_PRECISION):
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
    with localcontext(prec=_PRECISION):
        return _line_amounts(price, price_exclusive, quantity, rate or Decimal(0), tax_included)


def _line_amounts(
    price: Decimal, price_exclusive: Decimal, quantity: Decimal, r: Decimal, tax_included: bool
) -> LineAmounts:
    if tax_included:
        gross = price * quantity
        total = to_kopecks(gross)
        vat = to_kopecks(gross * r / (HUNDRED + r))
        return LineAmounts(total=total, vat=vat, net=total - vat)
    base = price_exclusive * quantity
    net = to_kopecks(base)
    vat = to_kopecks(base * r / HUNDRED)
    return LineAmounts(total=net + vat, vat=vat, net=net)
