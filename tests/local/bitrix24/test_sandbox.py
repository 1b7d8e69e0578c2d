"""The Bitrix24 sandbox over real HTTP: documented shapes, batch semantics, limits and fault injection."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
import requests

from local.bitrix24.limits import LeakyBucket, TimeProfile
from local.bitrix24.lists import ListOrder
from local.bitrix24.sandbox import Bitrix24Sandbox, RequestLogEntry
from local.bitrix24.store import DealUpdate, ItemUpdate, TimelineComment
from local.bitrix24.user_fields import uf_name_from_camel, uf_name_to_camel
from local.bitrix24.wire import build_query, nest_pairs, parse_query
from local.seed import DEALS, REQUISITES, SMART_INVOICES, WEBHOOK_CODE, WEBHOOK_USER_ID, Requisite

TIMEOUT = 5
# These tests pin the sandbox's mechanics on its idealised time block and list order; the real-portal behaviour
# of both (the default) is tested in test_bitrix24_strictness.py.
IDEAL: dict[str, Any] = {"time_profile": TimeProfile.IDEAL, "list_order": ListOrder.IDEAL}


@pytest.fixture
def sandbox() -> Iterator[Bitrix24Sandbox]:
    with Bitrix24Sandbox(**IDEAL) as portal:
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
    assert response.status_code == 404
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


def test_nested_batch_is_not_allowed(sandbox: Bitrix24Sandbox) -> None:
    response = call(sandbox, "batch", {"cmd": {"inner": "batch?cmd[a]=crm.deal.get%3Fid%3D1001"}})
    assert response.status_code == 405
    assert response.json()["error"] == "ERROR_BATCH_METHOD_NOT_ALLOWED"


# ---- limits and fault injection ---------------------------------------------------------------------------


def test_leaky_bucket_answers_503_over_the_burst() -> None:
    with Bitrix24Sandbox(**IDEAL, drain_per_second=0.001, burst=3) as portal:
        statuses = [call(portal, "crm.deal.get", {"id": 1001}).status_code for _ in range(2)]
        batch = {"cmd": {f"c{i}": "crm.deal.get?id=1001" for i in range(10)}}
        statuses.append(call(portal, "batch", batch).status_code)  # a batch is one request
        over = call(portal, "crm.deal.get", {"id": 1001})
        assert statuses == [200, 200, 200]
        assert over.status_code == 503
        assert over.json() == {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
        assert [entry.status for entry in portal.request_log] == [200, 200, 200, 503]


def test_leaky_bucket_drains_over_time() -> None:
    with Bitrix24Sandbox(**IDEAL, drain_per_second=5, burst=1) as portal:
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
    with Bitrix24Sandbox(**IDEAL, requisites=[only]) as portal:
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


# ---- operating (resource-time) limit ----------------------------------------------------------------------

T0 = 1_000_000.0


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_operating_is_reported_and_off_by_default(sandbox: Bitrix24Sandbox) -> None:
    before = int(time.time())
    timing = call(sandbox, "crm.deal.get", {"id": 1001}).json()["time"]
    assert timing["operating"] == 0
    assert before + 600 <= timing["operating_reset_at"] <= int(time.time()) + 601
    for _ in range(5):
        assert call(sandbox, "crm.deal.get", {"id": 1001}).status_code == 200


def test_operating_limit_blocks_only_the_method_over_it() -> None:
    clock = FakeClock()
    costs = {"crm.deal.get": 1.0}
    with Bitrix24Sandbox(**IDEAL, operating_limit_seconds=1.5, operating_cost_seconds=costs, clock=clock) as portal:
        first = call(portal, "crm.deal.get", {"id": 1001}).json()["time"]
        clock.now += 10
        second = call(portal, "crm.deal.get", {"id": 1001}).json()["time"]
        blocked = call(portal, "crm.deal.get", {"id": 1001})
        other = call(portal, "crm.company.get", {"id": 11})
        assert (first["operating"], first["operating_reset_at"]) == (1.0, T0 + 600)
        assert (second["operating"], second["operating_reset_at"]) == (2.0, T0 + 610)
        assert blocked.status_code == 429
        body = blocked.json()
        assert body["error"] == "OPERATION_TIME_LIMIT"
        assert body["error_description"] == "Method is blocked due to operation time limit."
        assert body["time"]["operating_reset_at"] == T0 + 600  # the first charge ages out, 1.0 <= 1.5
        assert body["time"]["operating"] == 2.0
        assert other.status_code == 200
        assert other.json()["time"]["operating"] == 0
        assert portal.operating_seconds("crm.deal.get") == 2.0  # a blocked call is not charged
        log = portal.request_log
        assert [entry.status for entry in log] == [200, 200, 429, 200]
        assert log[2].error == "OPERATION_TIME_LIMIT"

        clock.now = T0 + 599
        assert call(portal, "crm.deal.get", {"id": 1001}).status_code == 429
        clock.now = T0 + 600
        assert call(portal, "crm.deal.get", {"id": 1001}).status_code == 200


def test_operating_window_is_configurable() -> None:
    clock = FakeClock()
    with Bitrix24Sandbox(
        operating_limit_seconds=0.5,
        operating_cost_seconds={"*": 1.0},
        operating_window_seconds=60,
        clock=clock,
    ) as portal:
        assert call(portal, "crm.requisite.get", {"id": 1}).status_code == 200
        blocked = call(portal, "crm.requisite.get", {"id": 1})
        assert blocked.status_code == 429
        assert blocked.json()["time"]["operating_reset_at"] == T0 + 60
        clock.now += 60
        assert call(portal, "crm.requisite.get", {"id": 1}).status_code == 200


def test_operating_limit_inside_a_batch_charges_commands_not_the_batch() -> None:
    clock = FakeClock()
    costs = {"crm.deal.get": 1.0, "batch": 100.0}
    with Bitrix24Sandbox(**IDEAL, operating_limit_seconds=1.5, operating_cost_seconds=costs, clock=clock) as portal:
        cmd = {
            "a": "crm.deal.get?id=1001",
            "b": "crm.deal.get?id=1002",
            "c": "crm.deal.get?id=1003",
            "d": "crm.company.get?id=11",
        }
        response = call(portal, "batch", {"halt": 0, "cmd": cmd})
        assert response.status_code == 200
        body = response.json()
        batch = body["result"]
        assert list(batch["result"]) == ["a", "b", "d"]
        assert batch["result_error"] == {
            "c": {
                "error": "OPERATION_TIME_LIMIT",
                "error_description": "Method is blocked due to operation time limit.",
            }
        }
        assert batch["result_time"]["a"]["operating"] == 1.0
        assert batch["result_time"]["b"]["operating"] == 2.0
        assert batch["result_time"]["d"]["operating"] == 0
        assert body["time"]["operating_reset_at"] == T0 + 600
        assert body["time"]["operating"] == 0
        assert portal.operating_seconds("batch") == 0
        assert portal.request_log[-1].batch_errors == (("c", "OPERATION_TIME_LIMIT"),)

        assert call(portal, "crm.deal.get", {"id": 1001}).status_code == 429  # direct calls share the meter
        second = call(portal, "batch", {"cmd": {"x": "crm.company.get?id=12"}})
        assert second.status_code == 200  # the batch itself is never blocked
        assert second.json()["result"]["result_error"] == []


def test_block_method_direct_and_in_batch() -> None:
    clock = FakeClock()
    with Bitrix24Sandbox(**IDEAL, clock=clock) as portal:
        portal.block_method("crm.item.get", 30.5)
        direct = call(portal, "crm.item.get", {"entityTypeId": 31, "id": 501})
        assert direct.status_code == 429
        assert direct.json()["error"] == "OPERATION_TIME_LIMIT"
        assert direct.json()["time"]["operating_reset_at"] == math.ceil(T0 + 30.5)
        batch = call(
            portal, "batch", {"cmd": {"item": "crm.item.get?entityTypeId=31&id=501", "deal": "crm.deal.get?id=1001"}}
        ).json()
        assert batch["result"]["result_error"]["item"]["error"] == "OPERATION_TIME_LIMIT"
        assert list(batch["result"]["result"]) == ["deal"]
        assert batch["time"]["operating_reset_at"] == math.ceil(T0 + 30.5)
        clock.now += 30.5
        assert call(portal, "crm.item.get", {"entityTypeId": 31, "id": 501}).status_code == 200


def test_block_method_with_the_real_clock_expires(sandbox: Bitrix24Sandbox) -> None:
    sandbox.block_method("CRM.DEAL.GET", 0.2)
    blocked = call(sandbox, "crm.deal.get", {"id": 1001})
    assert blocked.status_code == 429
    assert blocked.json()["time"]["operating_reset_at"] >= time.time()
    time.sleep(0.25)
    assert call(sandbox, "crm.deal.get", {"id": 1001}).status_code == 200


# ---- latency ----------------------------------------------------------------------------------------------


def test_latency_delays_each_request_and_is_settable() -> None:
    with Bitrix24Sandbox(**IDEAL, latency_seconds=0.2) as portal:
        started = time.monotonic()
        assert call(portal, "crm.deal.get", {"id": 1001}).status_code == 200
        assert time.monotonic() - started >= 0.2

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = list(pool.map(lambda _: call(portal, "crm.deal.get", {"id": 1001}).status_code, range(4)))
        assert statuses == [200] * 4
        assert time.monotonic() - started < 0.75  # waited side by side, not one after another

        portal.latency_seconds = 0.0
        started = time.monotonic()
        call(portal, "batch", {"cmd": {"a": "crm.deal.get?id=1001", "b": "crm.deal.get?id=1002"}})
        assert time.monotonic() - started < 0.2
        assert len(portal.request_log) == 6


# ---- new invoices: crm.item.get ---------------------------------------------------------------------------


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


# ---- crm.item.productrow.list -----------------------------------------------------------------------------

PRODUCT_ROW_KEYS = {
    "id", "ownerId", "ownerType", "productId", "productName", "price", "priceAccount", "priceExclusive",
    "priceNetto", "priceBrutto", "quantity", "discountTypeId", "discountRate", "discountSum", "taxRate",
    "taxIncluded", "customized", "measureCode", "measureName", "sort", "xmlId", "type", "storeId",
}  # fmt: skip


def test_item_productrow_list_for_a_smart_invoice(sandbox: Bitrix24Sandbox) -> None:
    body = exact(call(sandbox, "crm.item.productrow.list", {"filter": {"=ownerType": "SI", "=ownerId": 501}}))
    assert body["total"] == 1
    (row,) = body["result"]["productRows"]
    assert set(row) == PRODUCT_ROW_KEYS
    assert (row["id"], row["ownerId"], row["ownerType"], row["productId"]) == (6001, 501, "SI", 101)
    assert row["price"] == Decimal("122000")
    assert row["priceAccount"] == Decimal("122000")
    assert row["priceExclusive"] == Decimal("100000")
    assert row["priceBrutto"] == Decimal("122000")
    assert (row["taxRate"], row["taxIncluded"], row["quantity"]) == (22, "Y", 1)

    rows = exact(call(sandbox, "crm.item.productrow.list", {"filter": {"=ownerType": "SI", "=ownerId": 502}}))
    assert rows["result"]["productRows"][0]["taxRate"] is None
    assert rows["result"]["productRows"][0]["quantity"] == 2


def test_item_productrow_list_for_a_deal_matches_the_old_method(sandbox: Bitrix24Sandbox) -> None:
    form = requests.post(
        sandbox.webhook_url + "crm.item.productrow.list",
        data={"filter[=ownerType]": "D", "filter[=ownerId]": "1003"},
        timeout=TIMEOUT,
    )
    rows = exact(form)["result"]["productRows"]
    old = exact(call(sandbox, "crm.deal.productrows.get", {"id": 1003}))["result"]
    assert [row["id"] for row in rows] == [int(row["ID"]) for row in old]
    assert [row["priceNetto"] for row in rows] == [row["PRICE_NETTO"] for row in old]
    assert [row["discountSum"] for row in rows] == [row["DISCOUNT_SUM"] for row in old]
    assert all(row["ownerType"] == "D" for row in rows)


def test_item_productrow_list_pages_fifty_rows_with_start_next_and_total(sandbox: Bitrix24Sandbox) -> None:
    invoice = next(i for i in SMART_INVOICES if i.id == 501)
    row = invoice.rows[0]
    rows = tuple(dataclasses.replace(row, id=900000 + n) for n in range(120))
    sandbox.set_smart_invoice(dataclasses.replace(invoice, rows=rows))
    owner = {"=ownerType": "SI", "=ownerId": 501}
    pages = [exact(call(sandbox, "crm.item.productrow.list", {"filter": owner, "start": s})) for s in (0, 50, 100)]
    assert [len(page["result"]["productRows"]) for page in pages] == [50, 50, 20]
    assert [page["total"] for page in pages] == [120, 120, 120]
    assert [page.get("next") for page in pages] == [50, 100, None]
    ids = [r["id"] for page in pages for r in page["result"]["productRows"]]
    assert ids == [900000 + n for n in range(120)]


@pytest.mark.parametrize("filters", [{"=ownerType": "SI"}, {"=ownerId": 501}, {"ownerType": "SI", "ownerId": 501}])
def test_item_productrow_list_needs_owner_type_and_id(sandbox: Bitrix24Sandbox, filters: dict[str, Any]) -> None:
    response = call(sandbox, "crm.item.productrow.list", {"filter": filters})
    assert response.status_code == 400
    assert set(response.json()) == {"error", "error_description"}


# ---- crm.requisite.link.get for invoices ------------------------------------------------------------------


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


# ---- crm.item.list / crm.deal.list ------------------------------------------------------------------------


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


# ---- crm.status.list --------------------------------------------------------------------------------------


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


# ---- write-backs: crm.deal.update / crm.item.update -------------------------------------------------------


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


# ---- timeline and the request log -------------------------------------------------------------------------


@pytest.mark.parametrize("entity_type", ["smart_invoice", "dynamic_31"])
def test_timeline_comment_on_a_smart_invoice(sandbox: Bitrix24Sandbox, entity_type: str) -> None:
    fields = {"ENTITY_ID": 501, "ENTITY_TYPE": entity_type, "COMMENT": "Счёт создан в 1С"}
    comment_id = call(sandbox, "crm.timeline.comment.add", {"fields": fields}).json()["result"]
    assert sandbox.timeline_comments == [TimelineComment(comment_id, entity_type, 501, "Счёт создан в 1С")]
    missing = call(sandbox, "crm.timeline.comment.add", {"fields": {**fields, "ENTITY_ID": 999}})
    assert missing.status_code == 400
    assert len(sandbox.timeline_comments) == 1


def test_request_log_keeps_params_errors_and_arrival(sandbox: Bitrix24Sandbox) -> None:
    before = time.time()
    call(sandbox, "crm.item.list", {"entityTypeId": 31, "start": -1})
    call(sandbox, "crm.deal.get", {"id": 999})
    call(sandbox, "batch", {"cmd": {"ok": "crm.deal.get?id=1001", "bad": "crm.deal.get?id=999"}})
    listed, failed, batch = sandbox.request_log
    assert listed == RequestLogEntry("crm.item.list", (), 200, "POST")
    assert listed.params == {"entityTypeId": 31, "start": -1}
    assert listed.started_at >= before
    assert (failed.status, failed.error) == (400, "")
    assert (batch.error, batch.batch_errors) == ("", (("bad", ""),))
    assert batch.batch_methods == ("crm.deal.get", "crm.deal.get")


# ---- seed and helpers -------------------------------------------------------------------------------------


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


@pytest.mark.parametrize(
    ("name", "entity_type_id", "camel"),
    [
        ("UF_CRM_1725365197310", 2, "ufCrm_1725365197310"),
        ("UF_CRM_INVOICE_NO", 2, "ufCrmInvoiceNo"),
        ("UF_CRM_SMART_INVOICE_1669960460", 31, "ufCrmSmartInvoice1669960460"),
        ("UF_CRM_SMART_INVOICE_PAID_AMOUNT", 31, "ufCrmSmartInvoicePaidAmount"),
    ],
)
def test_user_field_names_round_trip(name: str, entity_type_id: int, camel: str) -> None:
    assert uf_name_to_camel(name, entity_type_id) == camel
    assert uf_name_from_camel(camel, entity_type_id) == name
    assert uf_name_from_camel("title", entity_type_id) is None
