"""crm.deal.get, crm.deal.list, crm.deal.update."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
import requests

from local.bitrix24.sandbox import Bitrix24Sandbox
from local.bitrix24.store import DealUpdate
from local.seed import DEALS
from tests.local.bitrix24.calls import IDEAL, TIMEOUT, call


def test_deal_get_returns_strings_like_the_docs(sandbox: Bitrix24Sandbox) -> None:
    body = call(sandbox, "crm.deal.get", {"id": 1001}).json()
    deal = body["result"]
    assert deal["ID"] == "1001"
    assert deal["OPPORTUNITY"] == "514000.00"
    assert deal["TAX_VALUE"] == "68545.45"
    assert deal["CATEGORY_ID"] == "0"
    assert deal["STAGE_ID"] == "WON"
    assert deal["STAGE_SEMANTIC_ID"] == "S"
    assert deal["IS_MANUAL_OPPORTUNITY"] == "N"
    assert deal["COMPANY_ID"] == "11"
    assert deal["CURRENCY_ID"] == "RUB"
    assert deal["CONTACT_ID"] is None
    assert deal["DATE_MODIFY"].endswith("+03:00")
    assert deal["CLOSEDATE"].endswith("+03:00")
    assert all(value is None or isinstance(value, str) for value in deal.values())
    assert set(body["time"]) == {
        "start",
        "finish",
        "duration",
        "processing",
        "date_start",
        "date_finish",
        "operating_reset_at",
        "operating",
    }


def test_deal_get_other_funnel_and_id_as_form_string(sandbox: Bitrix24Sandbox) -> None:
    response = requests.post(sandbox.webhook_url + "crm.deal.get", data={"ID": "1002"}, timeout=TIMEOUT)
    deal = response.json()["result"]
    assert (deal["CATEGORY_ID"], deal["STAGE_ID"], deal["OPPORTUNITY"]) == ("1", "C1:WON", "53751.25")


def test_deal_get_unknown_id_is_not_found(sandbox: Bitrix24Sandbox) -> None:
    response = call(sandbox, "crm.deal.get", {"id": 999})
    assert response.status_code == 400
    assert response.json() == {"error": "", "error_description": "Not found"}


def test_set_deal_changes_what_is_served(sandbox: Bitrix24Sandbox) -> None:
    before = call(sandbox, "crm.deal.get", {"id": 1004}).json()["result"]
    changed = dataclasses.replace(DEALS[3], stage_id="WON", stage_semantic_id="S", opportunity=Decimal("130000.5"))
    sandbox.set_deal(changed)
    after = call(sandbox, "crm.deal.get", {"id": 1004}).json()["result"]
    assert (after["STAGE_ID"], after["STAGE_SEMANTIC_ID"], after["OPPORTUNITY"]) == ("WON", "S", "130000.50")
    assert after["DATE_MODIFY"] != before["DATE_MODIFY"]


def test_deal_list_pages_filters_and_shape() -> None:
    many = [dataclasses.replace(DEALS[0], id=2000 + i) for i in range(60)]
    with Bitrix24Sandbox(**IDEAL, deals=[*DEALS, *many]) as portal:
        first = call(portal, "crm.deal.list", {"filter": {">ID": 1999}}).json()
        fast = requests.post(
            portal.webhook_url + "crm.deal.list",
            data={"start": "-1", "order[ID]": "ASC", "filter[>ID]": "2049", "select[]": "STAGE_ID"},
            timeout=TIMEOUT,
        ).json()
        won = call(portal, "crm.deal.list", {"filter": {"STAGE_SEMANTIC_ID": "S", "<ID": 2000}}).json()
        stages = call(portal, "crm.deal.list", {"filter": {"@STAGE_ID": ["C1:WON", "LOSE"]}}).json()
        portal.set_deal(DEALS[3])
        modified = call(portal, "crm.deal.list", {"filter": {">DATE_MODIFY": "2025-03-03T10:00:00+03:00"}}).json()
    assert (len(first["result"]), first["total"], first["next"]) == (50, 60, 50)
    row = first["result"][0]
    assert row["ID"] == "2000"
    assert all(value is None or isinstance(value, str) for value in row.values())
    assert row["OPPORTUNITY"] == "514000.00"
    assert "total" not in fast
    assert "next" not in fast
    assert fast["result"] == [{"ID": str(2050 + i), "STAGE_ID": "WON"} for i in range(10)]
    assert [row["ID"] for row in won["result"]] == [str(deal.id) for deal in DEALS if deal.stage_semantic_id == "S"]
    assert [row["ID"] for row in stages["result"]] == ["1002", "1006"]
    assert [row["ID"] for row in modified["result"]] == ["1004"]


def test_deal_update_stores_user_fields_and_ignores_unknown_keys(sandbox: Bitrix24Sandbox) -> None:
    before = call(sandbox, "crm.deal.get", {"id": 1001}).json()["result"]
    fields = {"UF_CRM_1725365197310": "БС-000123", "NO_SUCH_FIELD": "x", "ufCrmLowerCase": "y"}
    response = call(sandbox, "crm.deal.update", {"id": 1001, "fields": fields})
    assert response.status_code == 200
    assert response.json()["result"] is True
    after = call(sandbox, "crm.deal.get", {"id": 1001}).json()["result"]
    assert after["UF_CRM_1725365197310"] == "БС-000123"
    assert "NO_SUCH_FIELD" not in after
    assert "ufCrmLowerCase" not in after
    assert after["DATE_MODIFY"] != before["DATE_MODIFY"]
    assert after["STAGE_ID"] == before["STAGE_ID"]
    assert sandbox.deal_updates == [DealUpdate(1001, fields)]
    assert sandbox.deal_user_field_values(1001) == {"UF_CRM_1725365197310": "БС-000123"}
    item = call(sandbox, "crm.item.get", {"entityTypeId": 2, "id": 1001}).json()["result"]["item"]
    assert item["ufCrm_1725365197310"] == "БС-000123"

    form = requests.post(
        sandbox.webhook_url + "crm.deal.update",
        data={"id": "1003", "fields[UF_CRM_1725365197310]": "БС-000124", "fields[TITLE]": "Новое имя"},
        timeout=TIMEOUT,
    )
    assert form.json()["result"] is True
    deal = call(sandbox, "crm.deal.get", {"id": 1003}).json()["result"]
    assert (deal["UF_CRM_1725365197310"], deal["TITLE"]) == ("БС-000124", "Новое имя")


def test_deal_update_with_defined_user_fields_drops_misspelled_ones() -> None:
    with Bitrix24Sandbox(**IDEAL, deal_user_fields=["UF_CRM_INVOICE_NO", "UF_CRM_INVOICE_LINK"]) as portal:
        assert call(portal, "crm.deal.get", {"id": 1001}).json()["result"]["UF_CRM_INVOICE_NO"] is None
        fields = {"UF_CRM_INVOICE_N0": "typo", "UF_CRM_INVOICE_LINK": "https://1c.example/doc"}
        assert call(portal, "crm.deal.update", {"id": 1001, "fields": fields}).json()["result"] is True
        deal = call(portal, "crm.deal.get", {"id": 1001}).json()["result"]
        assert deal["UF_CRM_INVOICE_NO"] is None
        assert deal["UF_CRM_INVOICE_LINK"] == "https://1c.example/doc"
        assert "UF_CRM_INVOICE_N0" not in deal
        listed = call(portal, "crm.deal.list", {"filter": {"ID": 1001}}).json()["result"][0]
        assert "UF_CRM_INVOICE_LINK" not in listed  # crm.deal.list selects user fields only when asked
        asked = call(portal, "crm.deal.list", {"filter": {"ID": 1001}, "select": ["ID", "UF_*"]}).json()["result"]
        assert asked == [{"ID": "1001", "UF_CRM_INVOICE_LINK": "https://1c.example/doc", "UF_CRM_INVOICE_NO": None}]
        assert portal.deal_updates[0].fields == fields


@pytest.mark.parametrize(
    "params",
    [{"id": 4242, "fields": {"UF_CRM_1": "x"}}, {"id": 1001}, {"fields": {"UF_CRM_1": "x"}}],
)
def test_deal_update_errors_are_not_recorded(sandbox: Bitrix24Sandbox, params: dict[str, Any]) -> None:
    response = call(sandbox, "crm.deal.update", params)
    assert response.status_code == 400
    assert set(response.json()) == {"error", "error_description"}
    assert sandbox.deal_updates == []


def test_deal_update_moves_the_stage_within_its_funnel(sandbox: Bitrix24Sandbox) -> None:
    call(sandbox, "crm.deal.update", {"id": 1004, "fields": {"STAGE_ID": "WON"}})
    deal = call(sandbox, "crm.deal.get", {"id": 1004}).json()["result"]
    assert (deal["STAGE_ID"], deal["STAGE_SEMANTIC_ID"]) == ("WON", "S")
    call(sandbox, "crm.deal.update", {"id": 1004, "fields": {"STAGE_ID": "C1:LOSE"}})  # another funnel: ignored
    assert call(sandbox, "crm.deal.get", {"id": 1004}).json()["result"]["STAGE_ID"] == "WON"
