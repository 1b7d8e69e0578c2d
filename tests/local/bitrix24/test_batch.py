"""batch: references, errors, halt, form-encoded commands."""

from __future__ import annotations

import requests

from local.bitrix24.sandbox import Bitrix24Sandbox, RequestLogEntry
from local.bitrix24.wire import build_query
from tests.local.bitrix24.calls import TIMEOUT, call


def test_batch_references_errors_and_empty_sections(sandbox: Bitrix24Sandbox) -> None:
    response = call(
        sandbox,
        "batch",
        {
            "halt": 0,
            "cmd": {
                "deal": "crm.deal.get?id=1001",
                "link": "crm.requisite.link.get?entityTypeId=2&entityId=$result[deal][ID]",
                "rq": "crm.requisite.list?filter[ID]=$result[link][REQUISITE_ID]",
                "rows": "crm.deal.productrows.get?id=1001",
                "product": "catalog.product.get?id=$result[rows][1][PRODUCT_ID]",
                "missing": "crm.deal.get?id=4242",
                "after_missing": "crm.company.get?id=$result[missing][COMPANY_ID]",
            },
        },
    )
    assert response.status_code == 200
    batch = response.json()["result"]
    assert batch["result"]["link"]["REQUISITE_ID"] == "21"
    assert batch["result"]["rq"][0]["RQ_INN"] == "7707083893"
    assert batch["result"]["product"]["product"]["id"] == 102
    assert batch["result_error"] == {
        "missing": {"error": "", "error_description": "Not found"},
        "after_missing": {"error": "", "error_description": "ID is not defined or invalid."},
    }
    assert batch["result_total"] == {"rq": 1}
    assert batch["result_next"] == []
    assert set(batch["result_time"]) == {"deal", "link", "rq", "rows", "product"}
    assert sandbox.request_log == [
        RequestLogEntry(
            "batch",
            (
                "crm.deal.get",
                "crm.requisite.link.get",
                "crm.requisite.list",
                "crm.deal.productrows.get",
                "catalog.product.get",
                "crm.deal.get",
                "crm.company.get",
            ),
            200,
            "POST",
        )
    ]


def test_batch_all_good_has_empty_error_list(sandbox: Bitrix24Sandbox) -> None:
    batch = call(sandbox, "batch", {"cmd": {"a": "crm.deal.get?id=1001"}}).json()["result"]
    assert batch["result_error"] == []
    assert batch["result_total"] == []


def test_batch_halt_stops_at_first_error(sandbox: Bitrix24Sandbox) -> None:
    cmd = {"bad": "crm.deal.get?id=1", "good": "crm.deal.get?id=1001"}
    halted = call(sandbox, "batch", {"halt": 1, "cmd": cmd}).json()["result"]
    assert halted["result"] == []
    assert list(halted["result_error"]) == ["bad"]
    assert halted["result_time"] == []
    carried_on = call(sandbox, "batch", {"halt": 0, "cmd": cmd}).json()["result"]
    assert list(carried_on["result"]) == ["good"]


def test_batch_form_encoded_with_bracket_cmd(sandbox: Bitrix24Sandbox) -> None:
    body = build_query(
        {
            "halt": 0,
            "cmd": {
                "link": "crm.requisite.link.get?" + build_query({"entityTypeId": 2, "entityId": 1003}),
                "rq": "crm.requisite.list?filter[ID]=$result[link][REQUISITE_ID]&select[]=RQ_OGRNIP",
            },
        }
    )
    response = requests.post(
        sandbox.webhook_url + "batch",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=TIMEOUT,
    )
    assert response.json()["result"]["result"]["rq"] == [{"ID": "24", "RQ_OGRNIP": "304500116000157"}]


def test_nested_batch_is_not_allowed(sandbox: Bitrix24Sandbox) -> None:
    response = call(sandbox, "batch", {"cmd": {"inner": "batch?cmd[a]=crm.deal.get%3Fid%3D1001"}})
    assert response.status_code == 405
    assert response.json()["error"] == "ERROR_BATCH_METHOD_NOT_ALLOWED"
