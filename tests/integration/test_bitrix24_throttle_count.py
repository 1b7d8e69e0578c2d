"""The client counts the portal's rate-limit answers (429 and 503), the session's own 503 retries included:
they feed the Bitrix24Throttled metric behind Bitrix24ThrottlingAlarm (template.yaml, RUNBOOK.md)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from invoice_bridge.bitrix24.client import Bitrix24Client, Bitrix24Error
from local.bitrix24.sandbox import Bitrix24Sandbox


@pytest.fixture
def portal() -> Iterator[Bitrix24Sandbox]:
    with Bitrix24Sandbox() as sandbox:
        yield sandbox


def test_503s_retried_by_the_session_are_counted(portal: Bitrix24Sandbox) -> None:
    client = Bitrix24Client(portal.webhook_url, timeout=5, sleep=lambda _: None)
    portal.fail_next(2)  # two 503 QUERY_LIMIT_EXCEEDED, then the answer
    assert client.call("crm.deal.get", {"id": 1001})["ID"] == "1001"
    assert client.request_count == 1  # one call of ours…
    assert client.throttled_count == 2  # …behind which the portal refused twice


def test_a_429_is_counted(portal: Bitrix24Sandbox) -> None:
    client = Bitrix24Client(portal.webhook_url, timeout=5, sleep=lambda _: None)
    client.remaining_seconds = lambda: 20.0
    portal.block_method("crm.deal.get", 300.0)
    with pytest.raises(Bitrix24Error):
        client.call("crm.deal.get", {"id": 1001})
    assert client.throttled_count == 1


def test_other_failures_are_not_counted(portal: Bitrix24Sandbox) -> None:
    other = Bitrix24Client(portal.webhook_url, timeout=5, sleep=lambda _: None)
    portal.fail_next(2, status=500, error="INTERNAL_SERVER_ERROR", description="boom")
    assert other.call("crm.deal.get", {"id": 1002})["ID"] == "1002"
    assert other.throttled_count == 0
