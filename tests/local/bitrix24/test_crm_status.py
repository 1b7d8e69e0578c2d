"""crm.status.list."""

from __future__ import annotations

from typing import Any

import requests

from local.bitrix24.sandbox import Bitrix24Sandbox
from local.seed import DEALS, SMART_INVOICES
from tests.local.bitrix24.calls import TIMEOUT


def test_status_list_by_entity(sandbox: Bitrix24Sandbox) -> None:
    def rows(entity_id: str) -> list[dict[str, Any]]:
        response = requests.post(
            sandbox.webhook_url + "crm.status.list", data={"filter[ENTITY_ID]": entity_id}, timeout=TIMEOUT
        )
        result: list[dict[str, Any]] = response.json()["result"]
        return result

    general = rows("DEAL_STAGE")
    assert [row["STATUS_ID"] for row in general] == ["NEW", "PREPARATION", "WON", "LOSE"]
    assert [row["SEMANTICS"] for row in general] == [None, None, "S", "F"]
    assert {row["CATEGORY_ID"] for row in general} == {"0"}
    won = general[2]
    assert set(won) >= {"ID", "ENTITY_ID", "STATUS_ID", "NAME", "SORT", "SEMANTICS", "CATEGORY_ID"}
    assert isinstance(won["ID"], str)
    assert isinstance(won["SORT"], str)
    assert [row["STATUS_ID"] for row in rows("DEAL_STAGE_1")] == ["C1:NEW", "C1:UC_INVOICE", "C1:WON", "C1:LOSE"]
    invoices = rows("SMART_INVOICE_STAGE_1")
    assert [row["STATUS_ID"] for row in invoices] == ["DT31_1:N", "DT31_1:S", "DT31_1:P", "DT31_1:D"]
    assert {row["CATEGORY_ID"] for row in invoices} == {"1"}
    # every stage the seed uses is listed with the semantics the seed gives it
    semantics = {row["STATUS_ID"]: row["SEMANTICS"] or "P" for row in general + rows("DEAL_STAGE_1") + invoices}
    used = [(deal.stage_id, deal.stage_semantic_id) for deal in DEALS]
    used += [(invoice.stage_id, invoice.stage_semantic_id) for invoice in SMART_INVOICES]
    for stage_id, semantic_id in used:
        assert semantics[stage_id] == semantic_id
    assert rows("NO_SUCH") == []
