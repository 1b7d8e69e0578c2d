from datetime import date
from decimal import Decimal

from invoice_bridge.bitrix24.records import DealRecord, ProductRowRecord, RequisiteRecord
from invoice_bridge.bitrix24.snapshot import DealSnapshot
from invoice_bridge.invoice.mapping import DealIdentity, Rejection, map_deal
from invoice_bridge.invoice.model import InvoiceDraft, VatRate
from invoice_bridge.messages import Msg, t

D = Decimal
ON = date(2026, 11, 23)
IDENTITY = DealIdentity(ledger_key="m#deal#7", external_key="b24:m:deal:7", url="https://p/crm/deal/details/7/")
ROMASHKA = RequisiteRecord(ID=21, NAME="HQ", RQ_COMPANY_NAME="ООО «Ромашка»", RQ_INN="7707083893", RQ_KPP="773601001")


def row(**fields: object) -> ProductRowRecord:
    base: dict[str, object] = {
        "ID": 1,
        "PRODUCT_ID": 101,
        "PRODUCT_NAME": "Laptop",
        "PRICE": D("122000"),
        "QUANTITY": D("2"),
        "TAX_RATE": D("22"),
        "TAX_INCLUDED": "Y",
    }
    return ProductRowRecord.model_validate({**base, **fields})


def snapshot(
    rows: tuple[ProductRowRecord, ...] = (row(),),
    buyer: RequisiteRecord | None = ROMASHKA,
    opportunity: str = "244000.00",
    tax_value: str = "44000.00",
    **deal: object,
) -> DealSnapshot:
    record = DealRecord.model_validate(
        {
            "ID": 7,
            "TITLE": "T",
            "STAGE_ID": "WON",
            "STAGE_SEMANTIC_ID": "S",
            "CURRENCY_ID": "RUB",
            "OPPORTUNITY": opportunity,
            "TAX_VALUE": tax_value,
            "COMPANY_ID": "11",
            **deal,
        }
    )
    codes: dict[int, str | None] = {r.PRODUCT_ID: f"code-{r.PRODUCT_ID}" for r in rows if r.PRODUCT_ID}
    return DealSnapshot(
        deal=record,
        rows=rows,
        buyer=buyer,
        buyer_source=t(Msg.COMPANY_FIRST_REQUISITE, company=11),
        product_codes=codes,
    )


def problems_of(result: InvoiceDraft | Rejection) -> str:
    assert isinstance(result, Rejection)
    return "\n".join(map(str, result.problems))


def test_valid_deal_maps_to_a_draft_with_per_line_vat() -> None:
    draft = map_deal(snapshot(), IDENTITY, ON)
    assert isinstance(draft, InvoiceDraft)
    [line] = draft.lines
    assert (line.amount, line.vat_amount, line.vat_rate) == (D("244000.00"), D("44000.00"), VatRate.VAT22)
    assert (draft.total, draft.vat_total, draft.amounts_include_vat) == (D("244000.00"), D("44000.00"), True)
    assert draft.buyer.kpp == "773601001"


def test_content_hash_ignores_the_document_date_but_not_amounts() -> None:
    first = map_deal(snapshot(), IDENTITY, ON)
    next_day = map_deal(snapshot(), IDENTITY, date(2026, 11, 24))
    changed = map_deal(
        snapshot(rows=(row(QUANTITY=D("3")),), opportunity="366000.00", tax_value="66000.00"), IDENTITY, ON
    )
    assert isinstance(first, InvoiceDraft)
    assert isinstance(next_day, InvoiceDraft)
    assert isinstance(changed, InvoiceDraft)
    assert first.content_hash() == next_day.content_hash()
    assert first.content_hash() != changed.content_hash()


def test_every_problem_is_listed_at_once() -> None:
    broken = RequisiteRecord(ID=25, NAME="Main", RQ_INN="77070838", RQ_KPP="77360100")
    rows = (
        row(),
        row(ID=2, PRODUCT_ID=0, PRODUCT_NAME="Delivery"),
        row(ID=3, PRODUCT_ID=103, PRODUCT_NAME="Old rate", TAX_RATE=D("20")),
        row(ID=4, PRODUCT_ID=104, PRODUCT_NAME="Zero qty", QUANTITY=D("0")),
    )
    text = problems_of(map_deal(snapshot(rows=rows, buyer=broken, CURRENCY_ID="USD"), IDENTITY, ON))
    assert "77070838 has 8 digits; must be 10" in text
    assert "KPP in requisite «Main»" in text
    assert "currency USD is not configured" in text
    assert "row 2" not in text  # a free-text row is a service line, not a problem
    assert "row 3 «Old rate»: VAT rate 20 % is not valid on 23.11.2026" in text
    assert "row 4 «Zero qty» has quantity 0" in text


def test_no_buyer_and_no_rows() -> None:
    text = problems_of(map_deal(snapshot(rows=(), buyer=None), IDENTITY, ON))
    assert "no buyer with requisites" in text
    assert "no product rows" in text


def test_rows_must_add_up_to_the_deal_amount_unless_manual() -> None:
    text = problems_of(map_deal(snapshot(opportunity="244000.01"), IDENTITY, ON))
    assert "rows add up to 244,000.00\u00a0RUB but the deal amount is 244,000.01\u00a0RUB" in text
    manual = map_deal(snapshot(opportunity="1.00", IS_MANUAL_OPPORTUNITY="Y"), IDENTITY, ON)
    assert isinstance(manual, InvoiceDraft)


def test_inn_with_spaces_is_reported_with_the_clean_form() -> None:
    spaced = RequisiteRecord(ID=1, NAME="R", RQ_INN="7707 083 893", RQ_KPP="773601001")
    assert "write it as 7707083893" in problems_of(map_deal(snapshot(buyer=spaced), IDENTITY, ON))


def test_individual_entrepreneur_needs_no_kpp() -> None:
    ip = RequisiteRecord(ID=24, NAME="ИП", RQ_INN="500100732259", RQ_KPP="", RQ_LAST_NAME="Иванов")
    draft = map_deal(snapshot(buyer=ip), IDENTITY, ON)
    assert isinstance(draft, InvoiceDraft)
    assert (draft.buyer.kpp, draft.buyer.is_individual, draft.buyer.name) == ("", True, "Иванов")


def test_mixed_vat_modes_show_tax_on_top_rows_with_vat_added() -> None:
    rows = (row(), row(ID=2, PRODUCT_ID=105, PRICE=D("1220.00"), QUANTITY=D("3"), TAX_INCLUDED="N"))
    draft = map_deal(snapshot(rows=rows, opportunity="247660.00", tax_value="44660.00"), IDENTITY, ON)
    assert isinstance(draft, InvoiceDraft)
    assert draft.amounts_include_vat
    assert [(line.price, line.amount, line.vat_amount) for line in draft.lines] == [
        (D("122000"), D("244000.00"), D("44000.00")),
        (D("1220.00"), D("3660.00"), D("660.00")),
    ]


def test_free_text_row_becomes_a_service_line() -> None:
    rows = (row(), row(ID=2, PRODUCT_ID=0, PRODUCT_NAME="Доставка", PRICE=D("1220"), QUANTITY=D("1")))
    draft = map_deal(snapshot(rows=rows, opportunity="245220.00", tax_value="44220.00"), IDENTITY, ON)
    assert isinstance(draft, InvoiceDraft)
    service = draft.lines[1]
    assert (service.product_code, service.description, service.vat_amount) == ("", "Доставка", D("220.00"))


# ---- cross-checks against the deal's own figures ------------------------------------------------------------


def test_a_vat_that_differs_from_tax_value_by_a_kopeck_is_rejected_with_both_numbers() -> None:
    result = map_deal(snapshot(tax_value="44000.01"), IDENTITY, ON)
    assert isinstance(result, Rejection)
    assert result.mismatches == ("tax",)
    assert "the rows' VAT adds up to 44,000.00\u00a0RUB but the deal's tax amount is 44,000.01\u00a0RUB" in problems_of(
        result
    )


def test_tax_value_is_checked_also_when_the_amount_is_manual() -> None:
    result = map_deal(snapshot(opportunity="1.00", IS_MANUAL_OPPORTUNITY="Y", tax_value="43999.99"), IDENTITY, ON)
    assert isinstance(result, Rejection)
    assert result.mismatches == ("tax",)


def test_an_amount_that_differs_from_opportunity_counts_as_a_mismatch() -> None:
    result = map_deal(snapshot(opportunity="244000.01"), IDENTITY, ON)
    assert isinstance(result, Rejection)
    assert result.mismatches == ("amount",)


def test_other_problems_are_not_mismatches() -> None:
    result = map_deal(snapshot(CURRENCY_ID="USD"), IDENTITY, ON)
    assert isinstance(result, Rejection)
    assert result.mismatches == ()


def test_the_rounding_edge_is_checked_against_tax_value() -> None:
    # 0.01 × 1105.4989 incl. 10 %: VAT 11.054989 / 11 = 1.004999, which Bitrix24's roundEx makes 1.01
    rows = (row(PRICE=D("0.01"), QUANTITY=D("1105.4989"), TAX_RATE=D("10")),)
    draft = map_deal(snapshot(rows=rows, opportunity="11.05", tax_value="1.01"), IDENTITY, ON)
    assert isinstance(draft, InvoiceDraft)
    assert (draft.total, draft.vat_total, draft.lines[0].vat_amount) == (D("11.05"), D("1.01"), D("1.01"))
    half_up = map_deal(snapshot(rows=rows, opportunity="11.05", tax_value="1.00"), IDENTITY, ON)
    assert isinstance(half_up, Rejection)
    assert half_up.mismatches == ("tax",)
