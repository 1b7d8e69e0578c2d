"""Figures from Bitrix24: what parses, what is in bounds, and that a deal's figures never crash the mapping."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoice_bridge.bitrix24.records import BadNumber, DealRecord, ProductRowRecord, RequisiteRecord, parse_number
from invoice_bridge.bitrix24.snapshot import DealSnapshot
from invoice_bridge.invoice.mapping import DealIdentity, Rejection, map_deal
from invoice_bridge.invoice.model import InvoiceDraft
from invoice_bridge.messages import Msg, t
from invoice_bridge.money import amount_problem, line_amounts, percent_problem, quantity_problem

D = Decimal
IDENTITY = DealIdentity(ledger_key="m#deal#7", external_key="b24:m:deal:7", url="https://p/crm/deal/details/7/")
BUYER = RequisiteRecord(ID=21, NAME="HQ", RQ_COMPANY_NAME="ООО «Ромашка»", RQ_INN="7707083893", RQ_KPP="773601001")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1000000.00", D("1000000.00")), (12, D(12)), (D("0.013"), D("0.013")), (" 5 ", D(5)), ("-1.5", D("-1.5"))],
)
def test_plain_numbers_parse_exactly(raw: object, expected: Decimal) -> None:
    value = parse_number(raw)
    assert isinstance(value, Decimal)
    assert value == expected
    assert str(value) == str(expected)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("NaN", "not a number"),
        ("Infinity", "not a number"),
        (float("nan"), "not a finite number"),
        (float("inf"), "not a finite number"),
        (D("NaN"), "not a finite number"),
        ("", "empty"),
        (None, "empty"),
        ({"a": 1}, "not a number"),
        ([1], "not a number"),
        (True, "not a number"),
        ("22,0", "comma"),
        ("abc", "not a number"),
        ("１２", "not a number"),  # fullwidth digits
        ("0x1A", "not a number"),
    ],
)
def test_anything_else_is_a_bad_number_that_keeps_the_value(raw: object, reason: str) -> None:
    value = parse_number(raw)
    assert isinstance(value, BadNumber)
    assert reason in str(value.reason)
    assert value.raw is raw


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (D("1E+400"), "too large"),
        (D("10000000000000"), "too large"),  # 14 whole digits
        (D("1234567890.123456"), "15 significant digits"),
        (D("9999999999999.999"), "15 significant digits"),
    ],
)
def test_amounts_out_of_bounds(value: Decimal, problem: str) -> None:
    found = amount_problem(value)
    assert found is not None
    assert problem in str(found)


def test_amounts_in_bounds() -> None:
    assert amount_problem(D("9999999999999.9")) is None  # 14 significant, 13 whole digits
    assert amount_problem(D("1000000.00")) is None  # trailing zeros are not significant
    assert amount_problem(D("0")) is None


def test_quantity_takes_four_decimals_and_percent_a_share() -> None:
    assert quantity_problem(D("0.0125")) is None
    assert "4 decimals" in str(quantity_problem(D("0.00125")))
    assert quantity_problem(D("2.50000")) is None  # trailing zeros are not decimals
    assert percent_problem(D("10")) is None
    assert "between 0 and 100" in str(percent_problem(D("101")))


money = st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=0, max_value=D("9999999999999.99"))
quantities = st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=D("0.0001"), max_value=D(10**10))


@given(price=money, quantity=quantities, included=st.booleans(), rate=st.sampled_from([None, D(0), D(10), D(22)]))
def test_figures_in_bounds_compute_exactly_in_kopecks(
    price: Decimal, quantity: Decimal, included: bool, rate: Decimal | None
) -> None:
    if amount_problem(price) or quantity_problem(quantity):
        return  # more than 15 significant digits: rejected before any arithmetic
    amounts = line_amounts(price=price, price_exclusive=price, quantity=quantity, rate=rate, tax_included=included)
    assert amounts.total == amounts.net + amounts.vat
    assert amounts.total.as_tuple().exponent == -2
    assert D(0) <= amounts.vat <= amounts.total


hostile = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=12),
    st.integers(),
    st.floats(),
    st.decimals(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def snapshot(opportunity: object, **row_fields: object) -> DealSnapshot:
    row = ProductRowRecord.model_validate(
        {
            "ID": 1,
            "PRODUCT_ID": 101,
            "PRODUCT_NAME": "Laptop",
            "PRICE": "122000",
            "QUANTITY": 2,
            "TAX_RATE": 22,
            "TAX_INCLUDED": "Y",
            **row_fields,
        }
    )
    deal = DealRecord.model_validate(
        {"ID": 7, "STAGE_ID": "WON", "STAGE_SEMANTIC_ID": "S", "CURRENCY_ID": "RUB", "OPPORTUNITY": opportunity}
    )
    return DealSnapshot(
        deal=deal,
        rows=(row,),
        buyer=BUYER,
        buyer_source=t(Msg.COMPANY_FIRST_REQUISITE, company=11),
        product_codes={101: "code"},
    )


@given(
    field=st.sampled_from(["PRICE", "PRICE_EXCLUSIVE", "QUANTITY", "DISCOUNT_RATE", "TAX_RATE", "OPPORTUNITY"]),
    value=hostile,
)
def test_any_value_in_any_figure_maps_to_a_draft_or_a_rejection_never_an_exception(field: str, value: object) -> None:
    if field == "OPPORTUNITY":
        result = map_deal(snapshot(value), IDENTITY, date(2026, 11, 23))
    else:
        result = map_deal(snapshot("244000.00", **{field: value}), IDENTITY, date(2026, 11, 23))
    assert isinstance(result, InvoiceDraft | Rejection)
    if isinstance(result, Rejection):
        assert result.problems  # never a rejection without a reason
    parsed = parse_number(value)
    if isinstance(parsed, BadNumber) and not (field == "TAX_RATE" and value is None):
        assert isinstance(result, Rejection)
        assert any(field in str(problem) and parsed.shown() in str(problem) for problem in result.problems)
