"""The Bitrix24 sandbox over real HTTP: documented shapes, batch semantics, limits and fault injection."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
import requests

from local.bitrix24_sandbox import Bitrix24Sandbox, LeakyBucket, RequestLogEntry, TimelineComment
from local.bitrix24_sandbox_protocol import build_query, nest_pairs, parse_query, substitute_references
from local.seed import DEALS, REQUISITES, WEBHOOK_CODE, WEBHOOK_USER_ID, Requisite

TIMEOUT = 5


@pytest.fixture
def sandbox() -> Iterator[Bitrix24Sandbox]:
    with Bitrix24Sandbox() as portal:
        yield portal


def call(portal: Bitrix24Sandbox, method: str, params: dict[str, Any] | None = None) -> requests.Response:
    return requests.post(portal.webhook_url + method, json=params or {}, timeout=TIMEOUT)


def exact(response: requests.Response) -> Any:
    """The body with JSON numbers as Decimal, so figures compare exactly."""
    return json.loads(response.text, parse_float=Decimal)


# ---- URL and authorisation --------------------------------------------------------------------------------


def test_webhook_url_shape(sandbox: Bitrix24Sandbox) -> None:
    assert sandbox.webhook_url.startswith("http://127.0.0.1:")
    assert sandbox.webhook_url.endswith(f"/rest/{WEBHOOK_USER_ID}/{WEBHOOK_CODE}/")


@pytest.mark.parametrize(("user", "code"), [(WEBHOOK_USER_ID, "wrongcode"), ("2", WEBHOOK_CODE)])
def test_wrong_webhook_credentials_give_401(sandbox: Bitrix24Sandbox, user: str, code: str) -> None:
    url = sandbox.webhook_url.replace(f"/rest/{WEBHOOK_USER_ID}/{WEBHOOK_CODE}/", f"/rest/{user}/{code}/")
    response = requests.post(url + "crm.deal.get", json={"id": 1001}, timeout=TIMEOUT)
    assert response.status_code == 401
    assert response.json() == {"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"}
    assert sandbox.request_log[-1] == RequestLogEntry("crm.deal.get", (), 401, "POST")


def test_json_suffix_and_unknown_method(sandbox: Bitrix24Sandbox) -> None:
    assert call(sandbox, "crm.deal.get.json", {"id": 1001}).json()["result"]["ID"] == "1001"
    response = call(sandbox, "crm.deal.nosuch", {"id": 1001})
    assert response.status_code == 400
    assert response.json() == {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}


# ---- crm.deal.get -----------------------------------------------------------------------------------------


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


# ---- crm.deal.productrows.get -----------------------------------------------------------------------------


def test_product_rows_derive_prices_like_bitrix24(sandbox: Bitrix24Sandbox) -> None:
    rows = {row["ID"]: row for row in exact(call(sandbox, "crm.deal.productrows.get", {"id": 1003}))["result"]}
    row = rows["5006"]
    assert row["PRICE"] == Decimal("109800.00")
    assert row["PRICE_EXCLUSIVE"] == Decimal("90000.00")
    assert row["PRICE_NETTO"] == Decimal("100000.00")
    assert row["DISCOUNT_SUM"] == Decimal("10000.00")
    assert row["PRICE_BRUTTO"] == Decimal("122000.00")
    assert row["PRICE_ACCOUNT"] == "109800.00"
    assert row["DISCOUNT_TYPE_ID"] == 2
    assert row["DISCOUNT_RATE"] == 10
    assert row["TAX_RATE"] == 22
    assert row["TAX_INCLUDED"] == "N"
    assert row["OWNER_TYPE"] == "D"
    assert row["OWNER_ID"] == "1003"
    assert row["PRODUCT_ID"] == 101
    assert row["QUANTITY"] == 1
    no_discount = rows["5005"]
    assert (no_discount["PRICE_EXCLUSIVE"], no_discount["PRICE_NETTO"], no_discount["DISCOUNT_SUM"]) == (
        Decimal(1000),
        Decimal(1000),
        Decimal(0),
    )


def test_product_rows_keep_vat_zero_apart_from_without_vat(sandbox: Bitrix24Sandbox) -> None:
    rows = {row["ID"]: row for row in exact(call(sandbox, "crm.deal.productrows.get", {"id": 1002}))["result"]}
    assert rows["5003"]["TAX_RATE"] == 0
    assert rows["5004"]["TAX_RATE"] is None
    assert rows["5004"]["QUANTITY"] == Decimal("2.5")
    assert rows["5004"]["PRICE_EXCLUSIVE"] == Decimal("1500.5")
    assert rows["5004"]["TAX_INCLUDED"] == "Y"


def test_product_rows_round_the_exclusive_price_half_up(sandbox: Bitrix24Sandbox) -> None:
    rows = exact(call(sandbox, "crm.deal.productrows.get", {"id": 1001}))["result"]
    baby_food = next(row for row in rows if row["ID"] == "5002")
    assert baby_food["PRICE_EXCLUSIVE"] == Decimal("81818.18")  # 90000 / 1.1
    assert baby_food["PRICE_BRUTTO"] == Decimal("90000.00")


def test_product_rows_unknown_deal(sandbox: Bitrix24Sandbox) -> None:
    response = call(sandbox, "crm.deal.productrows.get", {"id": 5})
    assert response.status_code == 400
    assert response.json()["error"] == ""


# ---- requisites, companies, catalog -----------------------------------------------------------------------


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
    with Bitrix24Sandbox(requisites=many) as portal:
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


def test_catalog_product_get(sandbox: Bitrix24Sandbox) -> None:
    product = call(sandbox, "catalog.product.get", {"id": 105}).json()["result"]["product"]
    assert product["id"] == 105
    assert isinstance(product["iblockId"], int)
    assert product["xmlId"] == "00-00000105"
    assert product["vatIncluded"] == "N"
    assert isinstance(product["vatId"], int)
    missing = call(sandbox, "catalog.product.get", {"id": 4040})
    assert missing.status_code == 400
    assert isinstance(missing.json()["error"], int)


def test_catalog_product_list_requires_iblock(sandbox: Bitrix24Sandbox) -> None:
    assert call(sandbox, "catalog.product.list", {"filter": {"id": 101}}).status_code == 400
    iblock = call(sandbox, "catalog.product.get", {"id": 101}).json()["result"]["product"]["iblockId"]
    body = call(
        sandbox,
        "catalog.product.list",
        {"filter": {"iblockId": iblock, "@id": [101, 104]}, "select": ["id", "iblockId", "xmlId", "vatId"]},
    ).json()
    assert [p["id"] for p in body["result"]["products"]] == [101, 104]
    assert body["total"] == 2
    assert set(body["result"]["products"][0]) == {"id", "iblockId", "xmlId", "vatId"}


# ---- timeline ---------------------------------------------------------------------------------------------


def test_timeline_comment_is_stored(sandbox: Bitrix24Sandbox) -> None:
    fields = {"ENTITY_ID": 1001, "ENTITY_TYPE": "deal", "COMMENT": "Счёт БС-000123 создан в 1С"}
    first = call(sandbox, "crm.timeline.comment.add", {"fields": fields}).json()["result"]
    second = requests.post(
        sandbox.webhook_url + "crm.timeline.comment.add",
        data={"fields[ENTITY_ID]": "1003", "fields[ENTITY_TYPE]": "deal", "fields[COMMENT]": "ok"},
        timeout=TIMEOUT,
    ).json()["result"]
    assert isinstance(first, int)
    assert second == first + 1
    assert sandbox.timeline_comments == [
        TimelineComment(first, "deal", 1001, "Счёт БС-000123 создан в 1С"),
        TimelineComment(second, "deal", 1003, "ok"),
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"fields": {"ENTITY_ID": 1001, "ENTITY_TYPE": "deal"}},
        {"fields": {"ENTITY_TYPE": "deal", "COMMENT": "x"}},
        {"FIELDS": {"ENTITY_ID": 1001, "ENTITY_TYPE": "deal", "COMMENT": "x"}},
    ],
)
def test_timeline_comment_rejects_missing_fields(sandbox: Bitrix24Sandbox, params: dict[str, Any]) -> None:
    response = call(sandbox, "crm.timeline.comment.add", params)
    assert response.status_code == 400
    assert set(response.json()) == {"error", "error_description"}
    assert sandbox.timeline_comments == []


# ---- batch ------------------------------------------------------------------------------------------------


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


def test_batch_over_fifty_commands_is_rejected(sandbox: Bitrix24Sandbox) -> None:
    cmd = {f"cmd_{i}": "crm.deal.get?id=1001" for i in range(51)}
    response = call(sandbox, "batch", {"cmd": cmd})
    assert response.status_code == 400
    assert response.json() == {
        "error": "ERROR_BATCH_LENGTH_EXCEEDED",
        "error_description": "Max batch length exceeded",
    }
    assert call(sandbox, "batch", {"cmd": dict(list(cmd.items())[:50])}).status_code == 200


def test_nested_batch_is_not_allowed(sandbox: Bitrix24Sandbox) -> None:
    response = call(sandbox, "batch", {"cmd": {"inner": "batch?cmd[a]=crm.deal.get%3Fid%3D1001"}})
    assert response.status_code == 405
    assert response.json()["error"] == "ERROR_BATCH_METHOD_NOT_ALLOWED"


# ---- limits and fault injection ---------------------------------------------------------------------------


def test_leaky_bucket_answers_503_over_the_burst() -> None:
    with Bitrix24Sandbox(drain_per_second=0.001, burst=3) as portal:
        statuses = [call(portal, "crm.deal.get", {"id": 1001}).status_code for _ in range(2)]
        batch = {"cmd": {f"c{i}": "crm.deal.get?id=1001" for i in range(10)}}
        statuses.append(call(portal, "batch", batch).status_code)  # a batch is one request
        over = call(portal, "crm.deal.get", {"id": 1001})
        assert statuses == [200, 200, 200]
        assert over.status_code == 503
        assert over.json() == {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
        assert [entry.status for entry in portal.request_log] == [200, 200, 200, 503]


def test_leaky_bucket_drains_over_time() -> None:
    with Bitrix24Sandbox(drain_per_second=5, burst=1) as portal:
        assert call(portal, "crm.deal.get", {"id": 1001}).status_code == 200
        assert call(portal, "crm.deal.get", {"id": 1001}).status_code == 503
        time.sleep(0.3)
        assert call(portal, "crm.deal.get", {"id": 1001}).status_code == 200


def test_leaky_bucket_arithmetic() -> None:
    now = [0.0]
    bucket = LeakyBucket(drain_per_second=2, burst=50, clock=lambda: now[0])
    assert all(bucket.try_acquire() for _ in range(50))
    assert not bucket.try_acquire()
    now[0] = 0.5  # one request drained
    assert bucket.try_acquire()
    assert not bucket.try_acquire()


def test_concurrent_requests_are_all_answered_and_logged(sandbox: Bitrix24Sandbox) -> None:
    def comment(index: int) -> int:
        fields = {"ENTITY_ID": 1001, "ENTITY_TYPE": "deal", "COMMENT": f"c{index}"}
        response = call(sandbox, "crm.timeline.comment.add", {"fields": fields})
        return int(response.json()["result"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(comment, range(24)))
    assert sorted(ids) == list(range(1, 25))
    assert len(sandbox.timeline_comments) == 24
    assert [entry.status for entry in sandbox.request_log] == [200] * 24


def test_fail_next_answers_the_next_requests_then_recovers(sandbox: Bitrix24Sandbox) -> None:
    sandbox.fail_next(2)
    first = call(sandbox, "crm.deal.get", {"id": 1001})
    second = call(sandbox, "batch", {"cmd": {"a": "crm.deal.get?id=1001"}})
    third = call(sandbox, "crm.deal.get", {"id": 1001})
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.json() == {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
    sandbox.fail_next(1, status=500, error="INTERNAL_SERVER_ERROR", description="Internal server error")
    assert call(sandbox, "crm.deal.get", {"id": 1001}).status_code == 500
    log = sandbox.request_log
    assert [(entry.method, entry.status) for entry in log] == [
        ("crm.deal.get", 503),
        ("batch", 503),
        ("crm.deal.get", 200),
        ("crm.deal.get", 500),
    ]
    assert log[1].batch_methods == ("crm.deal.get",)
    sandbox.reset_log()
    assert sandbox.request_log == []


def test_bad_json_body_is_a_400(sandbox: Bitrix24Sandbox) -> None:
    response = requests.post(
        sandbox.webhook_url + "crm.deal.get",
        data="{not json",
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "INVALID_REQUEST"


def test_custom_requisites_are_served() -> None:
    only = Requisite(
        id=7, entity_type_id=4, entity_id=11, preset_id=1, name="x", company_name="c", company_full_name="cf",
        inn="7707083893", kpp="773601001",
    )  # fmt: skip
    with Bitrix24Sandbox(requisites=[only]) as portal:
        rows = call(portal, "crm.requisite.list", {}).json()["result"]
    assert [row["ID"] for row in rows] == ["7"]


# ---- protocol helpers -------------------------------------------------------------------------------------


def test_bracket_keys_become_nested_params() -> None:
    assert parse_query("filter[ENTITY_ID]=11&filter[%3EID]=3&select[]=ID&select[]=NAME&order[ID]=ASC&id=5") == {
        "filter": {"ENTITY_ID": "11", ">ID": "3"},
        "select": ["ID", "NAME"],
        "order": {"ID": "ASC"},
        "id": "5",
    }
    assert nest_pairs([("a[0][b]", "1"), ("a[1][b]", "2"), ("plain[", "x")]) == {
        "a": [{"b": "1"}, {"b": "2"}],
        "plain[": "x",
    }
    assert parse_query(build_query({"fields": {"COMMENT": "a&b=c"}, "ids": [1, 2]})) == {
        "fields": {"COMMENT": "a&b=c"},
        "ids": ["1", "2"],
    }


def test_references_resolve_nested_paths_and_missing_values() -> None:
    sections: dict[str, dict[str, Any]] = {
        "result": {"list": [{"ID": "7", "TAGS": ["x", "y"]}], "flag": True},
        "result_total": {"list": 1},
    }
    assert substitute_references("$result[list][0][ID]", sections) == "7"
    assert substitute_references("$result[list][0][TAGS]", sections) == ["x", "y"]
    assert substitute_references("id-$result[list][0][ID]-$result_total[list]", sections) == "id-7-1"
    assert substitute_references("$result[list][5][ID]", sections) == ""
    assert substitute_references("$result[nothing][ID]", sections) == ""
    assert substitute_references("$result[flag]", sections) == "1"
