"""The bridge's row and deal arithmetic against an independent model of Bitrix24's (PHP doubles, `roundEx`)."""

from decimal import Decimal
from math import gcd

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from invoice_bridge.money import line_amounts, php_round, round_ex, to_kopecks
from tests.unit import bitrix24_reference as php

D = Decimal
RATES = [None, "0", "5", "7", "10", "20", "22"]


def bridge(row: php.Row) -> tuple[Decimal, Decimal]:
    amounts = line_amounts(
        price=D(row.price),
        price_exclusive=D(row.price_exclusive),
        quantity=D(row.quantity),
        rate=D(row.tax_rate) if row.tax_rate is not None else None,
        tax_included=row.tax_included,
    )
    return amounts.total, amounts.vat


def bitrix24(row: php.Row) -> tuple[Decimal, Decimal]:
    return php.kopecks(php.row_final_price(row)), php.kopecks(php.row_vat(row))


def test_the_model_reproduces_the_documented_sample_row() -> None:
    # crm.item.productrow.list docs, row 17649 (reference bitrix24.md §4.1, §4.3): 90000 incl. 10 %, qty 3
    row = php.Row(price="90000", price_exclusive="81818.18", quantity="3", tax_rate="10", tax_included=True)
    assert bitrix24(row) == (D("270000.00"), D("24545.45"))
    assert bridge(row) == bitrix24(row)


# Rows whose VAT lies a few millionths below half a kopeck: roundEx rounds them up, plain half-up rounds down.
EDGE_ROWS = [
    # 0.02 × 301.4999 = 6.029998 incl. 20 %: VAT 1.0049996…
    (php.Row("0.02", "0.02", "301.4999", "20", True), D("6.03"), D("1.01")),
    # 0.05 × 100.4999 = 5.024995 net, 20 % on top: VAT 1.004999 exactly
    (php.Row("0.05", "0.05", "100.4999", "20", False), D("6.03"), D("1.01")),
    # 0.10 × 5.0249 = 0.50249 → row total 0.50 (not nudged), 22 % on top: VAT 0.1105478 → 0.11
    (php.Row("0.12", "0.10", "5.0249", "22", False), D("0.61"), D("0.11")),
]


@pytest.mark.parametrize(("row", "total", "vat"), EDGE_ROWS)
def test_rows_round_like_round_ex_not_like_plain_half_up(row: php.Row, total: Decimal, vat: Decimal) -> None:
    assert bitrix24(row) == (total, vat)
    assert bridge(row) == (total, vat)


def test_round_ex_nudges_by_a_millionth() -> None:
    assert round_ex(D("1.004999")) == D("1.01")
    assert to_kopecks(D("1.004999")) == D("1.00")  # what the bridge did before: the one-kopeck drift
    assert round_ex(D("1.004998")) == D("1.00")
    assert round_ex(D("0")) == D("0.00")


def test_php_round_pre_rounds_to_fifteen_significant_digits() -> None:
    # 1234567890.0049999 pre-rounds at 10^-4 to 1234567890.0050, then half-up: PHP says .01
    assert php_round(D("1234567890.0049999")) == D("1234567890.01")
    assert php.kopecks(php.php_round(1234567890.0049999, 2)) == D("1234567890.01")


_money = st.decimals(min_value=D("0"), max_value=D("1000000"), places=2, allow_nan=False, allow_infinity=False)
_quantity = st.decimals(min_value=D("0.0001"), max_value=D("10000"), places=4, allow_nan=False, allow_infinity=False)
_rows = st.builds(
    php.Row,
    price=_money.map(str),
    price_exclusive=_money.map(str),
    quantity=_quantity.map(str),
    tax_rate=st.sampled_from(RATES),
    tax_included=st.booleans(),
)
# Prices and quantities where a kopeck is most often decided by the third-to-sixth decimals
_edge_money = st.integers(min_value=1, max_value=2000).map(lambda k: str(D(k) / 100))
_edge_rows = st.builds(
    php.Row,
    price=_edge_money,
    price_exclusive=_edge_money,
    quantity=_quantity.map(str),
    tax_rate=st.sampled_from(["5", "7", "10", "20", "22"]),
    tax_included=st.booleans(),
)


@st.composite
def _half_kopeck_rows(draw: st.DrawFn) -> php.Row:
    """A row whose VAT (or amount) falls in the last ten-thousandth below half a kopeck, where roundEx and plain
    half-up disagree (random rows land there once in ten thousand): solved for the quantity, modulo arithmetic."""
    cents = draw(st.integers(min_value=1, max_value=500_000))
    rate = draw(st.sampled_from([0, 5, 7, 10, 20, 22]))
    included = draw(st.booleans())
    # the value in kopecks is cents × units × factor / 10^4 (units: quantity in ten-thousandths) = n / den
    multiplier, den = (cents, 10_000) if not rate else (cents * rate, 10_000 * (100 + rate) if included else 10**6)
    low, high = -(-den * 4999 // 10_000), -(-den // 2)  # n mod den in [0.4999 den, 0.5 den)
    step = gcd(multiplier, den)
    first = -(-low // step) * step
    assume(first < high)
    target = draw(st.integers(min_value=0, max_value=(high - 1 - first) // step)) * step + first
    period = den // step
    units = (target // step) * pow(multiplier // step, -1, period) % period
    units += period * draw(st.integers(min_value=0 if units else 1, max_value=max(1, 100_000_000 // period - 1)))
    assume(0 < units <= 100_000_000)
    price = str(D(cents) / 100)
    return php.Row(price, price, str(D(units) / 10_000), str(rate), included)


@settings(max_examples=300)
@given(_half_kopeck_rows())
def test_rows_a_millionth_below_half_a_kopeck_match_bitrix24(row: php.Row) -> None:
    assert bridge(row) == bitrix24(row)


@settings(max_examples=1500)
@given(st.one_of(_rows, _edge_rows))
def test_every_row_matches_bitrix24_to_the_kopeck(row: php.Row) -> None:
    assert bridge(row) == bitrix24(row)


@settings(max_examples=400)
@given(st.lists(st.one_of(_rows, _edge_rows), min_size=1, max_size=12))
def test_every_deal_total_and_tax_match_bitrix24(rows: list[php.Row]) -> None:
    totals = [bridge(row) for row in rows]
    opportunity, tax_value = php.deal_totals(rows)
    assert sum((total for total, _ in totals), D(0)) == opportunity
    assert sum((vat for _, vat in totals), D(0)) == tax_value
