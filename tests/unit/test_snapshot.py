from invoice_bridge.bitrix24.client import BatchCommandError, BatchResult
from invoice_bridge.bitrix24.snapshot import DealSnapshot, SnapshotError, _snapshot_from

DEAL = {"ID": "7", "STAGE_ID": "WON", "STAGE_SEMANTIC_ID": "S", "OPPORTUNITY": "10.00", "COMPANY_ID": "11"}
REQUISITE = {"ID": "21", "RQ_INN": "7707083893", "RQ_KPP": "773601001"}


def batch(errors: dict[str, BatchCommandError] | None = None, **results: object) -> BatchResult:
    return BatchResult(results=dict(results), errors=errors or {})


def test_linked_requisite_wins_over_the_first_company_one() -> None:
    branch = {**REQUISITE, "ID": "30", "RQ_KPP": "710743001"}
    result = _snapshot_from(
        7, batch(deal_7=DEAL, rows_7=[], link_7={"REQUISITE_ID": "30"}, company_rq_7=[REQUISITE, branch])
    )
    assert isinstance(result, DealSnapshot)
    assert result.buyer is not None
    assert result.buyer.RQ_KPP == "710743001"


def test_requisite_linked_from_elsewhere_is_left_for_a_follow_up_read() -> None:
    result = _snapshot_from(7, batch(deal_7=DEAL, rows_7=[], link_7={"REQUISITE_ID": "99"}, company_rq_7=[REQUISITE]))
    assert isinstance(result, DealSnapshot)
    assert result.buyer is None


def test_failed_rows_are_an_error_not_an_empty_deal() -> None:
    limited = BatchCommandError("OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.")
    result = _snapshot_from(7, batch({"rows_7": limited}, deal_7=DEAL, company_rq_7=[]))
    assert isinstance(result, SnapshotError)
    assert result.transient
    assert "rows" in str(result)


def test_missing_deal_is_permanent() -> None:
    result = _snapshot_from(7, batch({"deal_7": BatchCommandError("", "Not found")}, rows_7=[], company_rq_7=[]))
    assert isinstance(result, SnapshotError)
    assert not result.transient


def test_deal_without_company_or_link_has_no_buyer() -> None:
    result = _snapshot_from(7, batch(deal_7={**DEAL, "COMPANY_ID": "0"}, rows_7=[], company_rq_7=[]))
    assert isinstance(result, DealSnapshot)
    assert result.buyer is None
