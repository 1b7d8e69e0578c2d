"""Money the way Bitrix24 computes it: Decimal, rounded per line with Bitrix's own `roundEx`, VAT per line.

Sources (Bitrix's PHP, as published in the bxApiDocs mirrors of the product's modules):
- `CSaleBasketHelper::getFinalPrice` (sale/general/basket_helper.php): row total = `roundEx(PRICE*QUANTITY,
  SALE_VALUE_PRECISION)`, plus the row VAT when `VAT_INCLUDED` is N.
- `CSaleBasketHelper::getVat` (same file): `PriceMaths::roundPrecision(PRICE*QUANTITY*VAT_RATE/(VAT_RATE+1))` when the
  VAT is included, `roundPrecision(PRICE*QUANTITY*VAT_RATE)` when it is not; `VAT_RATE` = `TAX_RATE/100` and `PRICE` is
  the inclusive price when `TAX_INCLUDED` is Y, else `PRICE_EXCLUSIVE` (`CCrmSaleHelper::PrepareShoppingCartItems`,
  crm/classes/general/sale_helper.php).
- `PriceMaths::roundPrecision` (sale/lib/pricemaths.php) is `roundEx($value, value_precision)`, precision 2 by default.
- `roundEx($value, $prec)` (main/tools.php) is `round(doubleval($value) + 1/pow(10, $prec+4), $prec)`: it adds 0.000001
  before rounding to kopecks, so 1.004999 becomes 1.01 where plain half-up gives 1.00.
- PHP's `round()` (php-src ext/standard/math.c, `_php_math_round`, PHP 5.3 to 8.3) first "pre-rounds" the value
  half-up to 15 significant digits (`precision_places = 14 - floor(log10|value|)`) when that is finer than the
  requested places and less than 15 places finer, then rounds half-up; above 10^12 it rounds directly.
  :func:`round_ex` does the same in Decimal, so a PHP double's representation error never matters here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from invoice_bridge.messages import Msg, Text, t

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


def amount_problem(value: Decimal) -> Text | None:
    """None for a finite amount 1C and Bitrix24 both hold exactly, else what is wrong with it."""
    if not value.is_finite():
        return t(Msg.NUMBER_NOT_FINITE)
    if _significant_digits(value) > MAX_SIGNIFICANT_DIGITS:
        return t(Msg.NUMBER_TOO_PRECISE, digits=MAX_SIGNIFICANT_DIGITS)
    if _whole_digits(value) > MAX_WHOLE_DIGITS:
        return t(Msg.NUMBER_TOO_LARGE, digits=MAX_WHOLE_DIGITS)
    return None


def quantity_problem(value: Decimal) -> Text | None:
    if (problem := amount_problem(value)) is not None:
        return problem
    if -value.normalize().as_tuple().exponent > MAX_QUANTITY_DECIMALS:  # type: ignore[operator]
        return t(Msg.NUMBER_TOO_MANY_DECIMALS, decimals=MAX_QUANTITY_DECIMALS)
    return None


def percent_problem(value: Decimal) -> Text | None:
    if (problem := amount_problem(value)) is not None:
        return problem
    if not Decimal(0) <= value <= HUNDRED:
        return t(Msg.NUMBER_NOT_PERCENT)
    return None


def to_kopecks(amount: Decimal) -> Decimal:
    return amount.quantize(KOPECK, rounding=ROUND_HALF_UP)


_ROUND_EX_EPSILON = Decimal("0.000001")  # 1/10^(2+4): roundEx's nudge at precision 2
_PHP_PLACES = 2


def php_round(value: Decimal) -> Decimal:
    """PHP's `round($value, 2)`: pre-rounded half-up to 15 significant digits, then half-up to kopecks."""
    with localcontext(prec=_PRECISION):
        if value.is_zero():
            return to_kopecks(value)
        precision_places = 14 - value.adjusted()  # adjusted() is floor(log10(|value|))
        if _PHP_PLACES < precision_places < _PHP_PLACES + 15:
            value = value.quantize(Decimal(1).scaleb(-precision_places), rounding=ROUND_HALF_UP)
        return to_kopecks(value)


def round_ex(value: Decimal) -> Decimal:
    """Bitrix's `roundEx($value, 2)`: PHP's round after adding 0.000001 (see the module docstring)."""
    with localcontext(prec=_PRECISION):
        return php_round(value + _ROUND_EX_EPSILON)


def exclusive_price(price: Decimal, rate: Decimal | None) -> Decimal:
    """Bitrix24's PRICE_EXCLUSIVE when the row does not carry one: round(PRICE / (1 + r/100), 2) (plain PHP round,
    `CCrmProductRow` preparePrices)."""
    if not rate:
        return php_round(price)
    with localcontext(prec=_PRECISION):
        return php_round(price * HUNDRED / (HUNDRED + rate))


@dataclass(frozen=True)
class LineAmounts:
    total: Decimal  # what the buyer pays for the line, VAT included
    vat: Decimal
    net: Decimal  # total without VAT


def line_amounts(
    *, price: Decimal, price_exclusive: Decimal, quantity: Decimal, rate: Decimal | None, tax_included: bool
) -> LineAmounts:
    """One product row: `price` is per unit with VAT after discount, `price_exclusive` the same without VAT.

    Tax included: total = roundEx(PRICE*QTY), VAT = roundEx(PRICE*QTY*r/(100+r)).
    Tax on top:   net = roundEx(PRICE_EXCLUSIVE*QTY), VAT = roundEx(PRICE_EXCLUSIVE*QTY*r/100), total = net + VAT.
    """
    with localcontext(prec=_PRECISION):
        return _line_amounts(price, price_exclusive, quantity, rate or Decimal(0), tax_included)


def _line_amounts(
    price: Decimal, price_exclusive: Decimal, quantity: Decimal, r: Decimal, tax_included: bool
) -> LineAmounts:
    if tax_included:
        gross = price * quantity
        total = round_ex(gross)
        vat = round_ex(gross * r / (HUNDRED + r))
        return LineAmounts(total=total, vat=vat, net=total - vat)
    base = price_exclusive * quantity
    net = round_ex(base)
    vat = round_ex(base * r / HUNDRED)
    return LineAmounts(total=net + vat, vat=vat, net=net)
