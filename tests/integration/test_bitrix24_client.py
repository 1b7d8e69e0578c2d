"""The Bitrix24 client and snapshot reader against the sandbox portal over HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from invoice_bridge.bitrix24.client import BatchRef, Bitrix24Client, Bitrix24Error, build_query
from invoice_bridge.bitrix24.snapshot import DealSnapshot, SnapshotCaches, SnapshotError, read_snapshots
from invoice_bridge.events import EntityType
from local.bitrix24.sandbox import Bitrix24Sandbox
from local.seed import NOMENCLATURE_LAPTOP, SERVICE_PLAN_CODE


@pytest.fixture
def portal() -> Iterator[Bitrix24Sandbox]:
    with Bitrix24Sandbox() as sandbox:
        yield sandbox


def read_deals(client: Bitrix24Client, deal_ids: list[int], caches: SnapshotCaches) -> dict[int, object]:
    snapshots = read_snapshots(client, [(EntityType.DEAL, deal_id) for deal_id in deal_ids], caches)
    return {entity_id: snapshot for (_, entity_id), snapshot in snapshots.items()}


def client_for(portal: Bitrix24Sandbox) -> Bitrix24Client:
    return Bitrix24Client(portal.webhook_url, timeout=5)


def test_build_query_keeps_batch_references_raw() -> None:
    query = build_query({"filter": {"ENTITY_ID": BatchRef("deal_1", ("COMPANY_ID",)), "NAME": "a&b c"}})
    assert query == "filter[ENTITY_ID]=$result[deal_1][COMPANY_ID]&filter[NAME]=a%26b%20c"


def test_snapshots_of_several_deals_take_one_batch_plus_one_for_new_products(portal: Bitrix24Sandbox) -> None:
    client = client_for(portal)
    products = SnapshotCaches(ttl_seconds=600)
    snapshots = read_deals(client, [1001, 1002, 1003, 1005, 1001], products)

    assert client.request_count == 2
    first = snapshots[1001]
    assert isinstance(first, DealSnapshot)
    assert Decimal("514000.00") == first.deal.OPPORTUNITY
    assert first.buyer is not None
    assert first.buyer.RQ_INN == "7707083893"
    assert str(first.buyer_source) == "the requisite selected in the deal"
    assert first.product_codes[101] == NOMENCLATURE_LAPTOP
    fallback = snapshots[1005]
    assert isinstance(fallback, DealSnapshot)
    assert str(fallback.buyer_source) == "the first requisite of company 14"
    third = snapshots[1003]
    assert isinstance(third, DealSnapshot)
    assert third.product_codes[105] == SERVICE_PLAN_CODE

    client.request_count = 0
    read_deals(client, [1001, 1003], products)
    assert client.request_count == 1  # product codes came from the cache


def test_missing_deal_is_a_permanent_snapshot_error(portal: Bitrix24Sandbox) -> None:
    result = read_deals(client_for(portal), [999999], SnapshotCaches(ttl_seconds=1))[999999]
    assert isinstance(result, SnapshotError)
    assert not result.transient
    assert "999999" in str(result)


def test_rate_limit_answer_is_retried(portal: Bitrix24Sandbox) -> None:
    portal.fail_next(2)  # two 503 QUERY_LIMIT_EXCEEDED
    assert client_for(portal).call("crm.deal.get", {"id": 1001})["ID"] == "1001"


def test_wrong_webhook_is_a_permanent_error(portal: Bitrix24Sandbox) -> None:
    client = Bitrix24Client(portal.webhook_url.replace("/rest/1/", "/rest/2/"), timeout=5)
    with pytest.raises(Bitrix24Error) as caught:
        client.call("crm.deal.get", {"id": 1001})
    assert caught.value.status == 401
    assert not caught.value.transient
    assert caught.value.code == "NO_AUTH_FOUND"


def test_server_errors_are_retried_for_reads(portal: Bitrix24Sandbox) -> None:
    client = Bitrix24Client(portal.webhook_url, timeout=5, sleep=lambda _: None)
    portal.fail_next(2, status=500, error="INTERNAL_SERVER_ERROR", description="boom")
    assert client.call("crm.deal.get", {"id": 1001})["ID"] == "1001"
    assert client.request_count == 3


def test_server_errors_are_not_retried_for_writes(portal: Bitrix24Sandbox) -> None:
    client = Bitrix24Client(portal.webhook_url, timeout=5, sleep=lambda _: None)
    portal.fail_next(1, status=500, error="INTERNAL_SERVER_ERROR", description="boom")
    fields = {"ENTITY_ID": 1001, "ENTITY_TYPE": "deal", "COMMENT": "x"}
    with pytest.raises(Bitrix24Error) as caught:
        client.call("crm.timeline.comment.add", {"fields": fields})
    assert caught.value.transient
    assert client.request_count == 1
    assert portal.timeline_comments == []


def test_operating_limit_is_waited_out_when_the_invocation_has_time(portal: Bitrix24Sandbox) -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the sandbox's block is in real time, so really wait
        slept.append(seconds)
        time.sleep(seconds)

    client = Bitrix24Client(portal.webhook_url, timeout=5, sleep=sleep)
    portal.block_method("crm.deal.get", 1.0)
    assert client.call("crm.deal.get", {"id": 1001})["ID"] == "1001"
    assert len(slept) == 1
    assert 0.5 < slept[0] <= 2.6


def test_operating_limit_beyond_the_remaining_time_goes_back_to_the_queue(portal: Bitrix24Sandbox) -> None:
    client = Bitrix24Client(portal.webhook_url, timeout=5, sleep=lambda _: None)
    client.remaining_seconds = lambda: 20.0
    portal.block_method("crm.deal.get", 300.0)
    with pytest.raises(Bitrix24Error) as caught:
        client.call("crm.deal.get", {"id": 1001})
    assert caught.value.status == 429
    assert caught.value.transient
    assert caught.value.reset_at is not None


def test_domain_change_is_followed_and_remembered(portal: Bitrix24Sandbox) -> None:
    class MovedPortal(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(302)
            self.send_header("Location", portal.webhook_url.split("/rest/")[0] + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    old = ThreadingHTTPServer(("127.0.0.1", 0), MovedPortal)
    threading.Thread(target=old.serve_forever, daemon=True).start()
    try:
        host, port = old.server_address[:2]
        client = Bitrix24Client(f"http://{host!s}:{port}{urlsplit(portal.webhook_url).path}", timeout=5)
        assert client.call("crm.deal.get", {"id": 1001})["ID"] == "1001"
        assert client.call("crm.deal.get", {"id": 1002})["ID"] == "1002"
        assert client.request_count == 3  # the redirect once, then straight to the new host
    finally:
        old.shutdown()
        old.server_close()


def test_a_portal_that_answers_nothing_costs_four_requests_then_every_entity_fails_transiently(
    portal: Bitrix24Sandbox,
) -> None:
    client = Bitrix24Client(portal.webhook_url, timeout=5, read_retries=0, sleep=lambda _: None)
    portal.fail_next(100, status=500, error="INTERNAL_SERVER_ERROR", description="Internal server error")
    snapshots = read_deals(client, [1001, 1002, 1003, 1005, 1007], SnapshotCaches(600))
    assert client.request_count == 4  # the request, its two halves, one probe: then the portal is down
    assert all(isinstance(s, SnapshotError) and s.transient for s in snapshots.values())


def test_a_portal_wide_refusal_is_not_split(portal: Bitrix24Sandbox) -> None:
    client = Bitrix24Client(portal.webhook_url, timeout=5, read_retries=0, sleep=lambda _: None)
    portal.fail_next(1, status=401, error="NO_AUTH_FOUND", description="Wrong authorization data")
    snapshots = read_deals(client, [1001, 1002, 1003], SnapshotCaches(600))
    assert client.request_count == 1
    assert all(isinstance(s, SnapshotError) and not s.transient for s in snapshots.values())


def test_one_entity_that_breaks_its_request_is_split_out(portal: Bitrix24Sandbox) -> None:
    client = Bitrix24Client(portal.webhook_url, timeout=5, read_retries=0, sleep=lambda _: None)
    portal.crash_on("crm.deal.get", id=1003)
    snapshots = read_deals(client, [1001, 1002, 1003, 1007], SnapshotCaches(600))
    failed = snapshots.pop(1003)
    assert isinstance(failed, SnapshotError)
    assert failed.transient
    assert all(isinstance(s, DealSnapshot) for s in snapshots.values())
    # 4 deals: the request, halves (one fails), quarters of the failing half, the follow-up
    assert client.request_count == 6
