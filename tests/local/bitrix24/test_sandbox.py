"""The sandbox as a whole: concurrent requests, latency, the request log."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from local.bitrix24.sandbox import Bitrix24Sandbox, RequestLogEntry
from tests.local.bitrix24.calls import IDEAL, call


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
