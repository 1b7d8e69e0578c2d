"""crm.requisite.link.get, crm.requisite.list, crm.requisite.get and crm.company.get."""

from __future__ import annotations

import dataclasses

import requests

from local.bitrix24.sandbox import Bitrix24Sandbox
from local.seed import REQUISITES, SMART_INVOICES, Requisite
from tests.local.bitrix24.calls import IDEAL, TIMEOUT, call


def test_requisite_link_found(sandbox: Bitrix24Sandbox) -> None:
    link = call(sandbox, "crm.requisite.link.get", {"entityTypeId": 2, "entityId": 1001}).json()["result"]
    assert link == {
        "ENTITY_TYPE_ID": 2,
        "ENTITY_ID": 1001,
        "REQUISITE_ID": "21",
        "BANK_DETAIL_ID": "0",
        "MC_REQUISITE_ID": "1",
        "MC_BANK_DETAIL_ID": "0",
    }


def test_requisite_link_missing_is_not_found(sandbox: Bitrix24Sandbox) -> None:
    response = call(sandbox, "crm.requisite.link.get", {"entityTypeId": 2, "entityId": 1002})
    assert response.status_code == 400
    assert response.json() == {"error": "", "error_description": "Not found"}


def test_requisite_link_for_a_smart_invoice(sandbox: Bitrix24Sandbox) -> None:
    link = call(sandbox, "crm.requisite.link.get", {"entityTypeId": 31, "entityId": 501}).json()["result"]
    assert link == {
        "ENTITY_TYPE_ID": 31,
        "ENTITY_ID": 501,
        "REQUISITE_ID": "23",
        "BANK_DETAIL_ID": "0",
        "MC_REQUISITE_ID": "1",
        "MC_BANK_DETAIL_ID": "0",
    }
    sandbox.set_smart_invoice(dataclasses.replace(SMART_INVOICES[1], requisite_id=None))
    for entity_id in (502, 999):
        response = call(sandbox, "crm.requisite.link.get", {"entityTypeId": 31, "entityId": entity_id})
        assert response.status_code == 400
        assert response.json() == {"error": "", "error_description": "Not found"}


def test_requisite_list_by_company_form_and_json_agree(sandbox: Bitrix24Sandbox) -> None:
    form = requests.post(
        sandbox.webhook_url + "crm.requisite.list",
        data={"filter[ENTITY_TYPE_ID]": "4", "filter[ENTITY_ID]": "11", "order[ID]": "DESC"},
        timeout=TIMEOUT,
    ).json()
    as_json = call(
        sandbox, "crm.requisite.list", {"filter": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": 11}, "order": {"ID": "DESC"}}
    ).json()
    assert form["result"] == as_json["result"]
    assert [row["ID"] for row in form["result"]] == ["22", "21"]
    assert form["total"] == 2
    assert "next" not in form
    row = form["result"][1]
    assert row["RQ_INN"] == "7707083893"
    assert row["RQ_KPP"] == "773601001"
    assert row["PRESET_ID"] == "1"
    assert row["ENTITY_ID"] == "11"
    assert row["ACTIVE"] == "Y"


def test_requisite_list_select_and_query_string(sandbox: Bitrix24Sandbox) -> None:
    url = sandbox.webhook_url + "crm.requisite.list?filter[ID]=24&select[]=RQ_OGRNIP&select[]=RQ_LAST_NAME"
    rows = requests.get(url, timeout=TIMEOUT).json()["result"]
    assert rows == [{"ID": "24", "RQ_OGRNIP": "304500116000157", "RQ_LAST_NAME": "Иванов"}]


def test_requisite_list_pages_by_fifty() -> None:
    many = [dataclasses.replace(REQUISITES[1], id=100 + i) for i in range(60)]
    with Bitrix24Sandbox(**IDEAL, requisites=many) as portal:
        first = call(portal, "crm.requisite.list", {"filter": {"ENTITY_ID": 11}}).json()
        second = call(portal, "crm.requisite.list", {"filter": {"ENTITY_ID": 11}, "start": 50}).json()
        no_count = call(portal, "crm.requisite.list", {"start": -1}).json()
    assert (len(first["result"]), first["total"], first["next"]) == (50, 60, 50)
    assert (len(second["result"]), second["total"]) == (10, 60)
    assert "next" not in second
    assert second["result"][0]["ID"] == "150"
    assert "total" not in no_count
    assert len(no_count["result"]) == 50


def test_requisite_get_and_company_get(sandbox: Bitrix24Sandbox) -> None:
    requisite = call(sandbox, "crm.requisite.get", {"id": 1}).json()["result"]
    assert (requisite["RQ_INN"], requisite["ENTITY_ID"]) == ("7704407589", "1")
    company = call(sandbox, "crm.company.get", {"id": 13}).json()["result"]
    assert company["TITLE"] == "ИП Иванов Пётр Сергеевич"
    assert company["ID"] == "13"
    assert company["IS_MY_COMPANY"] == "N"
    assert call(sandbox, "crm.company.get", {"id": 1}).json()["result"]["IS_MY_COMPANY"] == "Y"
    assert call(sandbox, "crm.company.get", {"id": 77}).status_code == 400


def test_custom_requisites_are_served() -> None:
    only = Requisite(
        id=7, entity_type_id=4, entity_id=11, preset_id=1, name="x", company_name="c", company_full_name="cf",
        inn="7707083893", kpp="773601001",
    )  # fmt: skip
    with Bitrix24Sandbox(**IDEAL, requisites=[only]) as portal:
        rows = call(portal, "crm.requisite.list", {}).json()["result"]
    assert [row["ID"] for row in rows] == ["7"]
