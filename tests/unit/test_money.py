from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoice_bridge.money import exclusive_price, line_amounts, to_kopecks

D = Decimal

# price (with VAT, after discount), quantity, rate, tax included, expected total, expected VAT
CASES = [
    (D("90000"), D("3"), D("10"), True, D("270000.00"), D("24545.45")),
    (D("100"), D("3"), D("20"), True, D("300.00"), D("50.00")),
    (D("122000"), D("2"), D("22"), True, D("244000.00"), D("44000.00")),
    (D("1220"), D("3"), D("22"), False, D("3660.00"), D("660.00")),
    (D("109800"), D("1"), D("22"), False, D("109800.00"), D("19800.00")),
    (D("1500.50"), D("2.5"), None, True, D("3751.25"), D("0.00")),
    (D("50000"), D("1"), D("0"), True, D("50000.00"), D("0.00")),
    (D("0.01"), D("1"), D("22"), True, D("0.01"), D("0.00")),
    (D("0.05"), D("1"), D("10"), True, D("0.05"), D("0.00")),
    (D("0.11"), D("1"), D("10"), True, D("0.11"), D("0.01")),
    (D("99.99"), D("0.013"), D("22"), True, D("1.30"), D("0.23")),
    (D("10.00"), D("0.333"), D("20"), True, D("3.33"), D("0.56")),
    (D("1.10"), D("7"), D("10"), True, D("7.70"), D("0.70")),
    (D("899.10"), D("1"), None, True, D("899.10"), D("0.00")),
    (D("12.20"), D("5"), D("22"), False, D("61.00"), D("11.00")),
    (D("105.00"), D("3"), D("5"), True, D("315.00"), D("15.00")),
    (D("107.00"), D("3"), D("7"), True, D("321.00"), D("21.00")),
    (D("105.00"), D("3"), D("5"), False, D("315.00"), D("15.00")),
    (D("33.33"), D("3"), D("20"), True, D("99.99"), D("16.67")),
    (D("33.33"), D("3"), D("20"), False, D("100.01"), D("16.67")),  # exclusive 27.78 × 3 = 83.34
]


@pytest.mark.parametrize(("price", "quantity", "rate", "included", "total", "vat"), CASES)
def test_line_amounts_match_bitrix24(
    price: Decimal, quantity: Decimal, rate: Decimal | None, included: bool, total: Decimal, vat: Decimal
) -> None:
    amounts = line_amounts(
        price=price, price_exclusive=exclusive_price(price, rate), quantity=quantity, rate=rate, tax_included=included
    )
    assert (amounts.total, amounts.vat) == (total, vat)
    assert amounts.net == amounts.total - amounts.vat


def test_half_up_rounding() -> None:
    assert to_kopecks(D("0.005")) == D("0.01")
    assert to_kopecks(D("2.675")) == D("2.68")
    assert to_kopecks(D("-0.005")) == D("-0.01")


def test_exclusive_price_of_docs_sample() -> None:
    assert exclusive_price(D("90000"), D("10")) == D("81818.18")
    assert exclusive_price(D("100"), None) == D("100.00")


_money = st.decimals(min_value=D("0"), max_value=D("1000000"), places=2, allow_nan=False, allow_infinity=False)
_qty = st.decimals(min_value=D("0.0001"), max_value=D("1000"), places=4, allow_nan=False, allow_infinity=False)
_rate = st.sampled_from([None, D("0"), D("5"), D("7"), D("10"), D("20"), D("22")])


@given(_money, _qty, _rate, st.booleans())
def test_line_is_in_kopecks_and_vat_never_exceeds_total(
    price: Decimal, quantity: Decimal, rate: Decimal | None, included: bool
) -> None:
    amounts = line_amounts(
        price=price, price_exclusive=exclusive_price(price, rate), quantity=quantity, rate=rate, tax_included=included
    )
    for value in (amounts.total, amounts.vat, amounts.net):
        assert value == to_kopecks(value)
    assert D(0) <= amounts.vat <= amounts.total
    if not rate:
        assert amounts.vat == 0
