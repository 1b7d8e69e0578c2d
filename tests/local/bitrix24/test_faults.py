"""Injected failures."""

from __future__ import annotations

from local.bitrix24.sandbox import Bitrix24Sandbox
from tests.local.bitrix24.calls import call


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
