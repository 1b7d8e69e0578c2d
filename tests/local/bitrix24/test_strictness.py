"""The Bitrix24 sandbox behaves as a real portal where the two used to differ (issue 15, differences 4-8).

Sources are named in the modules that implement each rule: ``local.bitrix24.batch`` (the REST module's
``CRestProvider::methodsBatch`` and ``CRestUtil::processBatchElement``), ``local.bitrix24.limits`` (the docs'
samples), ``local.bitrix24.lists``.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from invoice_bridge.bitrix24.client import Bitrix24Client, Bitrix24Error
from invoice_bridge.reconciler import list_changed
from local.bitrix24.batch import php_array, resolve_value
from local.bitrix24.limits import TimeProfile
from local.bitrix24.lists import ListOrder
from local.bitrix24.sandbox import Bitrix24Sandbox
from local.seed import DEALS, PRODUCTS
from tests.local.bitrix24.calls import call


def batch(portal: Bitrix24Sandbox, cmd: Any, halt: int = 0) -> dict[str, Any]:
    response = call(portal, "batch", {"halt": halt, "cmd": cmd})
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()["result"]
    return answer


# ---- 4: sections keyed 0..n-1 are JSON arrays ---------------------------------------------------------------


def test_commands_sent_as_a_list_come_back_as_lists(portal: Bitrix24Sandbox) -> None:
    answer = batch(portal, ["crm.deal.get?id=1001", "crm.deal.get?id=1002"])
    assert isinstance(answer["result"], list)
    assert [deal["ID"] for deal in answer["result"]] == ["1001", "1002"]
    assert isinstance(answer["result_time"], list)
    assert len(answer["result_time"]) == 2
    assert answer["result_error"] == []


def test_a_failed_first_command_makes_result_error_a_list_and_result_an_object(portal: Bitrix24Sandbox) -> None:
    answer = batch(portal, ["crm.deal.get?id=4242", "crm.deal.get?id=1001"])
    assert answer["result_error"] == [{"error": "", "error_description": "Not found"}]
    assert answer["result"] == {"1": answer["result"]["1"]}
    assert answer["result"]["1"]["ID"] == "1001"


def test_list_totals_of_list_commands_are_a_list(portal: Bitrix24Sandbox) -> None:
    answer = batch(portal, ["crm.deal.list?select[]=ID", "crm.deal.list?select[]=ID&start=-1"])
    assert answer["result_total"] == php_array({"0": answer["result_total"][0]})
    assert isinstance(answer["result_total"], list)


def test_php_array_rule() -> None:
    assert php_array({}) == []
    assert php_array({"0": "a", "1": "b"}) == ["a", "b"]
    assert php_array({"1": "b"}) == {"1": "b"}
    assert php_array({"1": "b", "0": "a"}) == {"1": "b", "0": "a"}  # keys out of order stay an object
    assert php_array({"cmd_0": "a"}) == {"cmd_0": "a"}


# ---- 5: unresolved references give the deepest value; $result_next is read as $result ----------------------


SECTIONS: dict[str, Any] = {
    "result": {"page": [{"ID": "7", "TAGS": ["x"]}], "deal": {"ID": "5", "COMPANY_ID": None}},
    "next": {"page": 50},
    "total": {"page": 1},
    "time": {},
    "error": {},
}


def test_reference_resolution_follows_process_batch_element() -> None:
    assert resolve_value("$result[page][0][ID]", SECTIONS) == "7"
    # page has one row: [49] does not exist, so the reference is the page itself (not "")
    assert resolve_value("$result[page][49][ID]", SECTIONS) == SECTIONS["result"]["page"]
    # a null field stops the walk one step up: the whole deal record
    assert resolve_value("$result[deal][COMPANY_ID]", SECTIONS) == SECTIONS["result"]["deal"]
    # an unknown command: the whole result section
    assert resolve_value("$result[nothing][ID]", SECTIONS) == SECTIONS["result"]
    # $next / $total are the real spellings; $result_next[...] is $result[...] with "_next" skipped
    assert resolve_value("$next[page]", SECTIONS) == 50
    assert resolve_value("$total[page]", SECTIONS) == 1
    assert resolve_value("$result_next[page]", SECTIONS) == SECTIONS["result"]["page"]
    # inside longer text only a string is substituted; anything else leaves the reference as it was
    assert resolve_value("id-$result[page][0][ID]", SECTIONS) == "id-7"
    assert resolve_value("n-$next[page]", SECTIONS) == "n-$next[page]"


def test_a_short_page_makes_the_next_page_start_over_like_a_real_portal(portal: Bitrix24Sandbox) -> None:
    """The reconciler's chain: page_1 refers to page_0's 50th row, which does not exist when page_0 is short."""
    answer = batch(
        portal,
        {
            "page_0": "crm.deal.list?order[ID]=ASC&start=-1&select[]=ID&filter[>ID]=1002",
            "page_1": "crm.deal.list?order[ID]=ASC&start=-1&select[]=ID&filter[>ID]=$result[page_0][49][ID]",
        },
    )
    first = [int(row["ID"]) for row in answer["result"]["page_0"]]
    second = [int(row["ID"]) for row in answer["result"]["page_1"]]
    assert first
    assert len(first) < 50
    assert set(second) & set(first), "page_1 lists again from the start (the filter became the whole page)"


# ---- 6: more than 50 commands, unknown methods -----------------------------------------------------------


def test_only_the_first_fifty_commands_run(portal: Bitrix24Sandbox) -> None:
    cmd = {f"cmd_{i}": "crm.deal.get?id=1001" for i in range(53)}
    answer = batch(portal, cmd)
    assert len(answer["result"]) == 50
    assert answer["result_error"] == {
        f"cmd_{i}": {"error": "ERROR_BATCH_LENGTH_EXCEEDED", "error_description": "Max batch length exceeded"}
        for i in (50, 51, 52)
    }
    assert portal.request_log[-1].status == 200


def test_unknown_method_is_404_directly_and_an_error_in_a_batch(portal: Bitrix24Sandbox) -> None:
    response = call(portal, "crm.deal.nosuch", {"id": 1})
    assert response.status_code == 404
    assert response.json()["error"] == "ERROR_METHOD_NOT_FOUND"
    answer = batch(portal, {"a": "crm.deal.nosuch?id=1", "b": "crm.deal.get?id=1001"})
    assert answer["result_error"] == {
        "a": {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}
    }
    assert answer["result"]["b"]["ID"] == "1001"


# ---- 7: the time block -------------------------------------------------------------------------------------


def test_real_time_block_omits_operating_until_something_is_counted() -> None:
    with Bitrix24Sandbox(operating_cost_seconds={"crm.deal.get": 2.0}) as portal:
        quiet = call(portal, "crm.deal.list", {"select": ["ID"]}).json()["time"]
        assert "operating" not in quiet
        assert "operating_reset_at" not in quiet
        assert quiet["processing"] < quiet["duration"]
        first = call(portal, "crm.deal.get", {"id": 1001}).json()["time"]
        assert first["operating"] == 2
        assert isinstance(first["operating"], int)
        second = call(portal, "crm.deal.get", {"id": 1001}).json()["time"]
        # the counter next drops when the oldest charge ages out: no later than the first answer said
        assert second["operating_reset_at"] <= first["operating_reset_at"]
        assert second["operating"] == 4
        outer = call(portal, "batch", {"cmd": {"a": "crm.deal.get?id=1001"}}).json()
        assert "operating" not in outer["time"]
        assert outer["result"]["result_time"]["a"]["operating"] == 6


def test_ideal_time_block_is_still_available() -> None:
    with Bitrix24Sandbox(time_profile=TimeProfile.IDEAL) as portal:
        timing = call(portal, "crm.deal.list", {"select": ["ID"]}).json()["time"]
    assert timing["operating"] == 0.0
    assert timing["processing"] == timing["duration"]
    assert timing["operating_reset_at"] >= int(timing["start"]) + 599


# ---- 8: list order, unknown order keys, xmlId ----------------------------------------------------------------


@pytest.mark.parametrize("mode", list(ListOrder))
def test_explicit_order_is_honoured_under_both_modes(mode: ListOrder) -> None:
    with Bitrix24Sandbox(list_order=mode) as portal:
        rows = call(portal, "crm.deal.list", {"order": {"ID": "DESC"}, "select": ["ID"]}).json()["result"]
    ids = [int(row["ID"]) for row in rows]
    assert ids == sorted(ids, reverse=True)


def test_real_lists_promise_no_order_and_refuse_unknown_order_keys(portal: Bitrix24Sandbox) -> None:
    rows = call(portal, "crm.deal.list", {"select": ["ID"]}).json()["result"]
    ids = [int(row["ID"]) for row in rows]
    assert ids != sorted(ids)
    response = call(portal, "crm.deal.list", {"order": {"NO_SUCH": "ASC"}})
    assert response.status_code == 400
    assert "Unknown field definition" in response.json()["error_description"]
    with Bitrix24Sandbox(list_order=ListOrder.IDEAL) as ideal:
        assert call(ideal, "crm.deal.list", {"order": {"NO_SUCH": "ASC"}}).status_code == 200


def test_unset_xml_id_is_an_empty_string() -> None:
    products = [dataclasses.replace(PRODUCTS[0], xml_id=None), *PRODUCTS[1:]]  # never set
    with Bitrix24Sandbox(products=products) as portal:
        listed = call(portal, "catalog.product.list", {"filter": {"iblockId": 23}, "select": ["id", "xmlId"]})
        single = call(portal, "catalog.product.get", {"id": PRODUCTS[0].id}).json()["result"]["product"]
    assert single["xmlId"] == ""
    values = [row.get("xmlId") for row in listed.json()["result"]["products"]]
    assert None not in values
    assert "" in values


# ---- the bridge against the stricter portal ---------------------------------------------------------------


def test_bridge_reads_list_shaped_sections(portal: Bitrix24Sandbox) -> None:
    client = Bitrix24Client(portal.webhook_url, timeout=5)
    answered = client.batch({"0": ("crm.deal.get", {"id": 1001}), "1": ("crm.deal.list", {"select": ["ID"]})})
    assert answered.results["0"]["ID"] == "1001"
    assert answered.totals["1"] == len(answered.results["1"])
    failed = client.batch({"0": ("crm.deal.get", {"id": 4242}), "1": ("crm.deal.get", {"id": 1001})})
    assert failed.errors["0"].description == "Not found"
    assert failed.results["1"]["ID"] == "1001"
    assert "1" not in failed.errors


def test_bridge_reads_fifty_first_commands_and_the_length_errors(portal: Bitrix24Sandbox) -> None:
    cmd = {f"c{i}": f"crm.deal.get?id={1001 if i % 2 else 4242}" for i in range(52)}
    answer = batch(portal, cmd)
    assert answer["result_error"]["c51"]["error"] == "ERROR_BATCH_LENGTH_EXCEEDED"


def test_operating_limit_without_a_reset_in_the_answer_waits_for_the_last_one_seen() -> None:
    slept: list[float] = []
    with Bitrix24Sandbox(operating_cost_seconds={"crm.deal.get": 1.0}) as portal:
        client = Bitrix24Client(portal.webhook_url, timeout=5, sleep=slept.append)
        first = client.call("crm.deal.get", {"id": 1001})  # its time block carries operating_reset_at
        portal.fail_next(1, status=429, error="OPERATION_TIME_LIMIT", description="no time block")
        assert client.call("crm.deal.get", {"id": 1001}) == first
        assert len(slept) == 1
        assert 500 < slept[0] <= 602  # the oldest charge ages out ten minutes after the first call
        portal.fail_next(1, status=429, error="OPERATION_TIME_LIMIT", description="no time block")
        client.remaining_seconds = lambda: 20.0
        with pytest.raises(Bitrix24Error) as caught:
            client.call("crm.deal.get", {"id": 1001})
    assert caught.value.status == 429
    assert caught.value.transient  # beyond the invocation: back to the queue
    assert len(slept) == 1
    fresh = Bitrix24Client("http://127.0.0.1:9/rest/1/x/", timeout=1)
    assert fresh._wait_before_retry(Bitrix24Error("m", 429, "OPERATION_TIME_LIMIT", ""), True, 1) is None


def test_reconciler_ignores_pages_chained_to_a_short_page() -> None:
    many = [dataclasses.replace(DEALS[0], id=5000 + i) for i in range(60)]
    with Bitrix24Sandbox(deals=[*DEALS, *many]) as portal:
        client = Bitrix24Client(portal.webhook_url, timeout=5)
        since = datetime(2000, 1, 1, tzinfo=UTC)
        changed, finished = list_changed(client, (), since, 5)
    ids = [c.entity_id for c in changed if c.entity_type.value == "deal"]
    assert finished
    assert len(ids) == len(set(ids))
    assert ids == sorted(ids)
    won = {d.id for d in [*DEALS, *many] if d.stage_semantic_id == "S"}
    assert set(ids) == won
