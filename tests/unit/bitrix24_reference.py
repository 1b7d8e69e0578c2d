"""An independent model of Bitrix24's deal arithmetic, in PHP's own doubles, for the parity tests.

Written from the PHP source apart from `invoice_bridge.money` (which works in Decimal), so that the two can be
compared. Each function names the PHP it follows:
- php-src ext/standard/math.c `_php_math_round` and `php_round_helper` (PHP 5.3 to 8.3, PHP_ROUND_HALF_UP);
- Bitrix main/tools.php `roundEx`; sale/lib/pricemaths.php `PriceMaths::roundPrecision` (precision 2);
- sale/general/basket_helper.php `CSaleBasketHelper::getVat` and `getFinalPrice`;
- crm/classes/general/sale_helper.php `CCrmSaleHelper::PrepareShoppingCartItems` (basket PRICE, VAT_INCLUDED,
  VAT_RATE = TAX_RATE / 100), and the deal's OPPORTUNITY / TAX_VALUE as the rounded sums of the rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal


def _round_helper(value: float) -> float:
    return math.floor(value + 0.5) if value >= 0.0 else math.ceil(value - 0.5)


def php_round(value: float, places: int) -> float:
    if not math.isfinite(value) or value == 0.0:
        return value
    precision_places = 14 - math.floor(math.log10(abs(value)))
    f1 = 10.0 ** abs(places)
    if precision_places > places and precision_places - places < 15:
        f2 = 10.0 ** abs(precision_places)
        tmp = value * f2 if precision_places >= 0 else value / f2
        tmp = _round_helper(tmp)  # the pre-rounding to 15 significant digits
        tmp = tmp / 10.0 ** abs(places - precision_places)
    else:
        tmp = value * f1 if places >= 0 else value / f1
        if abs(tmp) >= 1e15:
            return value
    tmp = _round_helper(tmp)
    return tmp / f1 if places > 0 else tmp * f1


def round_ex(value: float, precision: int = 2) -> float:
    eps = 1.00 / 10 ** (precision + 4)
    return php_round(float(value) + eps, precision)


@dataclass(frozen=True)
class Row:
    price: str  # PRICE: per unit, with VAT, after discount (as the REST answer gives it)
    price_exclusive: str  # PRICE_EXCLUSIVE
    quantity: str
    tax_rate: str | None  # None: without VAT
    tax_included: bool


def _basket(row: Row) -> tuple[float, float, float, bool]:
    vat_rate = float(row.tax_rate) / 100 if row.tax_rate is not None else 0.0
    price = float(row.price) if row.tax_included else float(row.price_exclusive)
    return price, float(row.quantity), vat_rate, row.tax_included


def row_vat(row: Row) -> float:
    price, quantity, vat_rate, included = _basket(row)
    if not vat_rate:
        return 0
    if not included:
        return round_ex(price * quantity * vat_rate)
    return round_ex(price * quantity * vat_rate / (vat_rate + 1))


def row_final_price(row: Row) -> float:
    price, quantity, _, included = _basket(row)
    final = round_ex(price * quantity, 2)
    if not included:
        final += row_vat(row)
    return final


def kopecks(value: float) -> Decimal:
    """A PHP float that holds a rounded amount, as the exact kopecks it stands for."""
    return Decimal(repr(value)).quantize(Decimal("0.01"))


def deal_totals(rows: list[Row]) -> tuple[Decimal, Decimal]:
    """(OPPORTUNITY, TAX_VALUE) as Bitrix24 stores them for these rows."""
    opportunity = 0.0
    tax_value = 0.0
    for row in rows:
        opportunity += row_final_price(row)
        tax_value += row_vat(row)
    return kopecks(php_round(opportunity, 2)), kopecks(php_round(tax_value, 2))
