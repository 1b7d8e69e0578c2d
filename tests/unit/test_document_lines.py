"""1C lines keep Bitrix24's exact amounts at a price 1C keeps: |round(Цена × Количество, 2) − Сумма| ≤ 0.01."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from invoice_bridge.events import EntityType
from invoice_bridge.invoice.lines import PricedRow, document_lines, keeps
from invoice_bridge.invoice.model import VatRate
from invoice_bridge.messages import Msg, Text, t
from invoice_bridge.money import exclusive_price, line_amounts, to_kopecks

D = Decimal
RATES = {D(22): VatRate.VAT22, D(10): VatRate.VAT10, D(5): VatRate.VAT5, D(0): VatRate.VAT0}


def priced(number: int, price: str, quantity: str, rate: Decimal, included: bool) -> PricedRow:
    exclusive = exclusive_price(D(price), rate)
    amounts = line_amounts(
        price=D(price), price_exclusive=exclusive, quantity=D(quantity), rate=rate, tax_included=included
    )
    return PricedRow(
        number=number,
        label=t(Msg.ROW, number=number),
        product_code=f"code-{number}",
        description="item",
        quantity=D(quantity),
        price=D(price),
        price_exclusive=exclusive,
        vat_rate=RATES[rate],
        tax_included=included,
        amounts=amounts,
    )


def test_a_mixed_deal_is_written_with_vat_on_top_when_only_that_keeps_every_line() -> None:
    # the case: a tax-on-top row 0.01 × 1000 (total 12.20 with 22 %) beside a tax-included laptop
    rows = [priced(1, "122000", "2", D(22), True), priced(2, "0.01", "1000", D(22), False)]
    problems: list[Text] = []
    include_vat, lines = document_lines(rows, EntityType.DEAL, problems)
    assert problems == []
    assert include_vat is False
    assert [(line.price, line.quantity, line.amount, line.vat_amount) for line in lines] == [
        (D("100000.00"), D("2"), D("200000.00"), D("44000.00")),
        (D("0.01"), D("1000"), D("10.00"), D("2.20")),
    ]
    assert all(keeps(line) for line in lines)
    assert sum(line.amount + line.vat_amount for line in lines) == D("244012.20")


def test_a_mixed_deal_keeps_vat_included_when_every_line_holds() -> None:
    rows = [priced(1, "122000", "2", D(22), True), priced(2, "1220", "3", D(22), False)]
    problems: list[Text] = []
    include_vat, lines = document_lines(rows, EntityType.DEAL, problems)
    assert (problems, include_vat) == ([], True)
    assert [(line.price, line.amount, line.vat_amount) for line in lines] == [
        (D("122000"), D("244000.00"), D("44000.00")),
        (D("1220.00"), D("3660.00"), D("660.00")),
    ]


def test_a_mixed_deal_no_flag_can_keep_is_rejected_naming_the_rows() -> None:
    rows = [priced(1, "0.01", "1000", D(22), True), priced(2, "0.01", "1000", D(22), False)]
    problems: list[Text] = []
    document_lines(rows, EntityType.DEAL, problems)
    [text] = problems
    problem = str(text)
    assert problem.startswith("row 2: 1C would change the amount")
    assert "mixes rows with VAT included and rows with VAT on top" in problem


_price = st.integers(min_value=1, max_value=50_000_000).map(lambda k: str(D(k) / 100))
_quantity = st.one_of(
    st.integers(min_value=1, max_value=5000).map(str),
    st.integers(min_value=1, max_value=50_000_000).map(lambda k: str(D(k) / 10_000)),
)
_row = st.tuples(_price, _quantity, st.sampled_from(sorted(RATES)), st.booleans())


@settings(max_examples=500)
@given(st.lists(_row, min_size=1, max_size=8))
def test_every_line_holds_and_carries_bitrix24s_exact_amounts(specs: list[tuple[str, str, Decimal, bool]]) -> None:
    rows = [priced(number, *spec) for number, spec in enumerate(specs, start=1)]
    problems: list[Text] = []
    include_vat, lines = document_lines(rows, EntityType.DEAL, problems)
    if problems:  # only ever a mixed deal, and only when neither flag keeps every line
        assert len({row.tax_included for row in rows}) == 2
        return
    for row, line in zip(rows, lines, strict=True):
        assert keeps(line), line
        assert abs(to_kopecks(line.price * line.quantity) - line.amount) <= D("0.01")
        assert line.vat_amount == row.amounts.vat
        assert line.amount == (row.amounts.total if include_vat else row.amounts.net)
        assert line.total == row.amounts.total
    if all(row.tax_included for row in rows):
        assert include_vat
    if not any(row.tax_included for row in rows):
        assert not include_vat
