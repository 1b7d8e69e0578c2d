from decimal import Decimal

from invoice_bridge.bitrix24.client import BatchCommandError, BatchResult
from invoice_bridge.bitrix24.snapshot import DealSnapshot, SnapshotError, _snapshot_from
from invoice_bridge.events import EntityType

DEAL = {"ID": "7", "STAGE_ID": "WON", "STAGE_SEMANTIC_ID": "S", "OPPORTUNITY": "10.00", "COMPANY_ID": "11"}
REQUISITE = {"ID": "21", "RQ_INN": "7707083893", "RQ_KPP": "773601001"}


def batch(errors: dict[str, BatchCommandError] | None = None, **results: object) -> BatchResult:
    return BatchResult(results=dict(results), errors=errors or {})


def test_linked_requisite_wins_over_the_first_company_one() -> None:
    branch = {**REQUISITE, "ID": "30", "RQ_KPP": "710743001"}
    result = _snapshot_from(
        EntityType.DEAL,
        7,
        batch(deal_7=DEAL, rows_7=[], link_7={"REQUISITE_ID": "30"}, company_rq_7=[REQUISITE, branch]),
    )
    assert isinstance(result, DealSnapshot)
    assert result.buyer is not None
    assert result.buyer.RQ_KPP == "710743001"


def test_requisite_linked_from_elsewhere_is_left_for_a_follow_up_read() -> None:
    result = _snapshot_from(
        EntityType.DEAL, 7, batch(deal_7=DEAL, rows_7=[], link_7={"REQUISITE_ID": "99"}, company_rq_7=[REQUISITE])
    )
    assert isinstance(result, DealSnapshot)
    assert result.buyer is None


def test_failed_rows_are_an_error_not_an_empty_deal() -> None:
    limited = BatchCommandError("OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.")
    result = _snapshot_from(EntityType.DEAL, 7, batch({"rows_7": limited}, deal_7=DEAL, company_rq_7=[]))
    assert isinstance(result, SnapshotError)
    assert result.transient
    assert "rows" in str(result)


def test_missing_deal_is_permanent() -> None:
    result = _snapshot_from(
        EntityType.DEAL, 7, batch({"deal_7": BatchCommandError("", "Not found")}, rows_7=[], company_rq_7=[])
    )
    assert isinstance(result, SnapshotError)
    assert not result.transient


def test_deal_without_company_or_link_has_no_buyer() -> None:
    result = _snapshot_from(EntityType.DEAL, 7, batch(deal_7={**DEAL, "COMPANY_ID": "0"}, rows_7=[], company_rq_7=[]))
    assert isinstance(result, DealSnapshot)
    assert result.buyer is None


def test_new_invoice_is_read_into_deal_shaped_records() -> None:
    item = {
        "id": 501,
        "title": "Invoice",
        "stageId": "DT31_1:S",
        "stageSemanticId": "S",
        "categoryId": 1,
        "currencyId": "RUB",
        "opportunity": 122000,
        "isManualOpportunity": "N",
        "taxValue": 22000,
        "companyId": 12,
        "parentId2": 1002,
    }
    rows = {
        "productRows": [
            {
                "id": 9,
                "productId": 101,
                "productName": "Laptop",
                "price": 122000,
                "priceExclusive": 100000,
                "quantity": 1,
                "taxRate": 22,
                "taxIncluded": "Y",
            }
        ]
    }
    result = _snapshot_from(
        EntityType.INVOICE,
        501,
        batch(
            invoice_501={"item": item},
            invoice_rows_501=rows,
            invoice_link_501={"REQUISITE_ID": "21"},
            invoice_company_rq_501=[REQUISITE],
        ),
    )
    assert isinstance(result, DealSnapshot)
    assert (result.deal.ID, result.deal.STAGE_SEMANTIC_ID, result.deal.COMPANY_ID) == (501, "S", 12)
    [row] = result.rows
    assert (row.PRODUCT_ID, row.PRICE, row.tax_included) == (101, Decimal(122000), True)
    assert str(result.buyer_source) == "the requisite selected in the invoice"
