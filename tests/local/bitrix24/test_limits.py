"""The leaky bucket (503) and the operating-time limit (429)."""

from __future__ import annotations

import math
import time

from local.bitrix24.limits import LeakyBucket
from local.bitrix24.sandbox import Bitrix24Sandbox
from tests.local.bitrix24.calls import IDEAL, call


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
