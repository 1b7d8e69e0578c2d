"""crm.item.get, crm.item.list, crm.item.update for deals and new invoices."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from local.bitrix24.sandbox import Bitrix24Sandbox
from local.bitrix24.store import ItemUpdate
from local.seed import DEALS, SMART_INVOICES
from tests.local.bitrix24.calls import IDEAL, call, exact


def test_item_get_smart_invoice_shape(sandbox: Bitrix24Sandbox) -> None:
    body = exact(call(sandbox, "crm.item.get", {"entityTypeId": 31, "id": 501}))
    item = body["result"]["item"]
    assert item["id"] == 501
    assert item["title"] == SMART_INVOICES[0].title
    assert item["accountNumber"] == "СЧ-501"
    assert (item["stageId"], item["stageSemanticId"], item["categoryId"]) == ("DT31_1:S", "S", 1)
    assert item["opportunity"] == Decimal("122000")
    assert item["taxValue"] == Decimal("22000")
    assert item["isManualOpportunity"] == "N"
    assert item["currencyId"] == "RUB"
    assert item["companyId"] == 12
    assert item["contactIds"] == []
    assert item["mycompanyId"] == 1
    assert item["parentId2"] == 1002
    assert item["assignedById"] == 1
    assert item["entityTypeId"] == 31
    assert "xmlId" in item
    for key in ("begindate", "closedate", "updatedTime"):
        assert item[key].endswith("+03:00")
    assert {"operating", "operating_reset_at"} <= set(body["time"])

    other = call(sandbox, "crm.item.get", {"entityTypeId": "31", "id": "502"}).json()["result"]["item"]
    assert (other["stageId"], other["stageSemanticId"], other["parentId2"]) == ("DT31_1:N", "P", None)
    assert isinstance(other["opportunity"], int | float)


def test_item_get_deal_is_camel_case(sandbox: Bitrix24Sandbox) -> None:
    item = exact(call(sandbox, "crm.item.get", {"entityTypeId": 2, "id": 1002}))["result"]["item"]
    assert item["id"] == 1002
    assert (item["stageId"], item["stageSemanticId"], item["categoryId"]) == ("C1:WON", "S", 1)
    assert item["opportunity"] == Decimal("53751.25")
    assert item["taxValue"] == 0
    assert item["companyId"] == 12
    assert item["isManualOpportunity"] == "N"
    assert item["currencyId"] == "RUB"
    assert item["updatedTime"].endswith("+03:00")
    assert item["title"] == "Пусконаладка и консультации"


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"entityTypeId": 31, "id": 999}, "NOT_FOUND"),
        ({"entityTypeId": 2, "id": 999}, "NOT_FOUND"),
        ({"entityTypeId": 5, "id": 1}, "ENTITY_TYPE_NOT_SUPPORTED"),
    ],
)
def test_item_get_errors(sandbox: Bitrix24Sandbox, params: dict[str, Any], error: str) -> None:
    response = call(sandbox, "crm.item.get", params)
    assert response.status_code == 400
    assert response.json()["error"] == error
    if error == "NOT_FOUND":
        assert response.json() == {"error": "NOT_FOUND", "error_description": "Element not found"}


def test_set_smart_invoice_changes_what_is_served(sandbox: Bitrix24Sandbox) -> None:
    changed = dataclasses.replace(SMART_INVOICES[1], stage_id="DT31_1:P", stage_semantic_id="S")
    sandbox.set_smart_invoice(changed)
    item = call(sandbox, "crm.item.get", {"entityTypeId": 31, "id": 502}).json()["result"]["item"]
    assert (item["stageId"], item["stageSemanticId"]) == ("DT31_1:P", "S")
    assert item["updatedTime"] != "2025-03-03T10:00:00+03:00"


def test_item_list_pages_and_start_minus_one() -> None:
    many = [dataclasses.replace(SMART_INVOICES[0], id=700 + i) for i in range(60)]
    with Bitrix24Sandbox(**IDEAL, smart_invoices=many) as portal:
        first = call(portal, "crm.item.list", {"entityTypeId": 31}).json()
        second = call(portal, "crm.item.list", {"entityTypeId": 31, "start": 50}).json()
        fast = call(
            portal,
            "crm.item.list",
            {"entityTypeId": 31, "start": -1, "order": {"id": "ASC"}, "filter": {">id": 740}, "select": ["id"]},
        ).json()
    assert (len(first["result"]["items"]), first["total"], first["next"]) == (50, 60, 50)
    assert (len(second["result"]["items"]), second["total"]) == (10, 60)
    assert "next" not in second
    assert second["result"]["items"][0]["id"] == 750
    assert "total" not in fast
    assert "next" not in fast
    assert fast["result"]["items"] == [{"id": 741 + i} for i in range(19)]


def test_item_list_filters(sandbox: Bitrix24Sandbox) -> None:
    def ids(filters: dict[str, Any], entity_type_id: int = 31) -> list[int]:
        body = call(sandbox, "crm.item.list", {"entityTypeId": entity_type_id, "filter": filters}).json()
        return [item["id"] for item in body["result"]["items"]]

    assert ids({}) == [501, 502]
    assert ids({"stageSemanticId": "S"}) == [501]
    assert ids({"@stageId": ["DT31_1:N", "DT31_1:P"]}) == [502]
    assert ids({"stageSemanticId": "S"}, entity_type_id=2) == [
        deal.id for deal in DEALS if deal.stage_semantic_id == "S"
    ]
    assert ids({">id": 1003, "!stageSemanticId": "S"}, entity_type_id=2) == [1004, 1006]
    assert ids({">updatedTime": "2025-03-03T10:00:00+03:00"}) == []
    sandbox.set_smart_invoice(SMART_INVOICES[1])
    assert ids({">updatedTime": "2025-03-03T10:00:00+03:00"}) == [502]
    assert ids({">updatedTime": "2025-03-03 10:00:00"}) == [502]  # naive: the portal's time zone
    ordered = call(sandbox, "crm.item.list", {"entityTypeId": 31, "order": {"id": "DESC"}, "select": ["title"]})
    assert ordered.json()["result"]["items"] == [
        {"id": 502, "title": SMART_INVOICES[1].title},
        {"id": 501, "title": SMART_INVOICES[0].title},
    ]
    assert call(sandbox, "crm.item.list", {"entityTypeId": 5}).json()["error"] == "ENTITY_TYPE_NOT_SUPPORTED"


def test_item_update_smart_invoice_records_and_stores(sandbox: Bitrix24Sandbox) -> None:
    fields = {"ufCrmSmartInvoice1669960460": "БС-000125", "accountNumber": "БС-000125", "noSuchField": 1}
    response = call(sandbox, "crm.item.update", {"entityTypeId": 31, "id": 501, "fields": fields})
    assert response.status_code == 200
    item = response.json()["result"]["item"]
    assert item["accountNumber"] == "БС-000125"
    assert item["ufCrmSmartInvoice1669960460"] == "БС-000125"
    assert "noSuchField" not in item
    assert sandbox.item_updates == [ItemUpdate(31, 501, fields)]
    assert sandbox.invoice_user_field_values(501) == {"UF_CRM_SMART_INVOICE_1669960460": "БС-000125"}
    original = call(sandbox, "crm.item.get", {"entityTypeId": 31, "id": 501, "useOriginalUfNames": "Y"}).json()
    assert original["result"]["item"]["UF_CRM_SMART_INVOICE_1669960460"] == "БС-000125"
    assert sandbox.deal_updates == []

    deal = call(sandbox, "crm.item.update", {"entityTypeId": 2, "id": 1002, "fields": {"ufCrm_1725365197310": "z"}})
    assert deal.json()["result"]["item"]["ufCrm_1725365197310"] == "z"
    assert call(sandbox, "crm.deal.get", {"id": 1002}).json()["result"]["UF_CRM_1725365197310"] == "z"
    assert sandbox.item_updates[-1] == ItemUpdate(2, 1002, {"ufCrm_1725365197310": "z"})

    missing = call(sandbox, "crm.item.update", {"entityTypeId": 31, "id": 999, "fields": {"title": "x"}})
    assert missing.json() == {"error": "NOT_FOUND", "error_description": "Element not found"}
    assert len(sandbox.item_updates) == 2


def test_smart_invoice_figures_add_up() -> None:
    assert [invoice.id for invoice in SMART_INVOICES] == [501, 502]
    for invoice in SMART_INVOICES:
        total = sum((row.price * row.quantity for row in invoice.rows), Decimal(0))
        tax = sum(
            (
                (row.price * row.quantity * row.tax_rate / (100 + row.tax_rate)).quantize(Decimal("0.01"))
                for row in invoice.rows
                if row.tax_rate is not None
            ),
            Decimal(0),
        )
        assert (total, tax) == (invoice.opportunity, invoice.tax_value)
        assert invoice.stage_id.startswith("DT31_1:")
