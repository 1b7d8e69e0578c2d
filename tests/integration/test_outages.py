"""Outages, breakers, leases and set-up failures through the real handlers (moto, both sandboxes).

The local stack retries after 1, 2, 4, 4… s (RETRY_BACKOFF_SECONDS=1, RETRY_BACKOFF_MAX_SECONDS=4) and its
breakers probe every 2 s; the template's maxReceiveCount (15) holds. "Longer than the old backoff window" is
measured in receives: the old design dead-lettered a message on its 5th failed receive.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from invoice_bridge import clock
from invoice_bridge.breaker import BREAKER_PREFIX, BreakerSettings, BreakerStore, onec_upstream
from invoice_bridge.ledger.deals import Ledger
from invoice_bridge.ledger.records import LedgerStatus
from local.seed import ONEC_PASSWORD, ONEC_USERNAME, PORTAL_MEMBER_ID
from local.stack import LocalStack, forget_warm_state
from tests.integration.test_bridge_end_to_end import drafts_for, drain, post, webhook

OLD_MAX_RECEIVES = 5
DEALS = (1001, 1002, 1003)


def key(deal_id: int) -> str:
    return f"{PORTAL_MEMBER_ID}#deal#{deal_id}"


def ledger_of(stack: LocalStack) -> Ledger:
    assert stack.resources is not None
    return Ledger(stack.dynamodb, stack.resources.table_name)


def dead_letters(stack: LocalStack) -> int:
    assert stack.resources is not None
    attributes = stack.sqs.get_queue_attributes(
        QueueUrl=stack.resources.dead_letter_queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def receive_until(stack: LocalStack, receives: int) -> int:
    """Hands messages to the processor until `receives` message receives have happened; returns them."""
    handed = 0
    for _ in range(200):
        if handed >= receives:
            return handed
        handed += stack.event_source.poll_once(wait_seconds=1)
    raise AssertionError(f"only {handed} receives")


@pytest.fixture(autouse=True)
def real_clock() -> Iterator[None]:
    """Tests move the bridge's clock (the seam the soak also uses) past leases and sweep times; put it back."""
    yield
    clock.use_time_source(None)


def an_hour_later() -> None:
    clock.use_time_source(lambda: time.time() + 3600)


def test_bitrix24_outage_longer_than_the_old_backoff_window_loses_and_dead_letters_nothing(
    stack: LocalStack,
) -> None:
    stack.bitrix.set_outage(502)
    for deal_id in DEALS:
        post(stack, webhook(deal_id))
    receive_until(stack, (OLD_MAX_RECEIVES + 2) * len(DEALS))
    assert dead_letters(stack) == 0
    assert stack.queued_messages() == len(DEALS)
    assert stack.onec.documents() == []

    stack.bitrix.set_outage(None)
    drain(stack, rounds=100)

    assert all(len(drafts_for(stack, deal_id)) == 1 for deal_id in DEALS)
    assert dead_letters(stack) == 0
    records = ledger_of(stack).get_many(key(deal_id) for deal_id in DEALS)
    assert {record.status for record in records.values()} == {LedgerStatus.CREATED}


def test_1c_outage_longer_than_the_old_backoff_window_creates_every_deal_once(
    stack: LocalStack, emitted: Counter[str]
) -> None:
    stack.onec.set_outage(503)
    for deal_id in DEALS:
        post(stack, webhook(deal_id))
    receive_until(stack, (OLD_MAX_RECEIVES + 2) * len(DEALS))
    assert dead_letters(stack) == 0
    assert stack.queued_messages() == len(DEALS)

    stack.onec.set_outage(None)
    drain(stack, rounds=100)

    assert all(len(drafts_for(stack, deal_id)) == 1 for deal_id in DEALS)
    assert dead_letters(stack) == 0
    assert emitted["InvoicesCreated"] == len(DEALS)
    assert emitted["SetupFailures"] == 0  # an outage is not a set-up problem


@pytest.fixture
def breaker_stack() -> Iterator[LocalStack]:
    stack = LocalStack(extra_environment={"BREAKER_FAILURE_THRESHOLD": "3"}).start(poll=False)
    yield stack
    stack.stop()


def test_the_1c_breaker_opens_short_circuits_probes_one_at_a_time_and_closes(
    breaker_stack: LocalStack, emitted: Counter[str]
) -> None:
    stack = breaker_stack
    deals = (1001, 1002, 1003, 1007)
    stack.onec.set_outage(503)
    for deal_id in deals:
        post(stack, webhook(deal_id))
    stack.event_source.poll_once(wait_seconds=1)  # one batch: three calls fail, the breaker opens
    assert len(stack.onec.request_log) == 3
    assert emitted["BreakerOpened"] == 1
    assert emitted["BreakerShortCircuited"] >= 1
    calls_when_opened = len(stack.onec.request_log)

    invocations = handed = 0
    short_circuited = emitted["BreakerShortCircuited"]
    while invocations < 6:
        before = len(stack.onec.request_log)
        if count := stack.event_source.poll_once(wait_seconds=1):
            invocations, handed = invocations + 1, handed + count
            assert len(stack.onec.request_log) - before <= 1  # only the probe reaches 1C
    probes = len(stack.onec.request_log) - calls_when_opened
    assert probes <= invocations
    assert emitted["BreakerShortCircuited"] - short_circuited == handed - probes  # the rest never called 1C
    assert emitted["BreakerOpened"] == 1
    assert emitted["BreakerClosed"] == 0

    stack.onec.set_outage(None)
    drain(stack, rounds=100)

    assert emitted["BreakerClosed"] == 1
    assert all(len(drafts_for(stack, deal_id)) == 1 for deal_id in deals)
    assert dead_letters(stack) == 0
    assert stack.resources is not None
    item = stack.dynamodb.get_item(
        TableName=stack.resources.table_name,
        Key={"pk": {"S": BREAKER_PREFIX + onec_upstream(stack.onec.url)}},
        ConsistentRead=True,
    )["Item"]
    assert "probe_at" not in item
    assert item["failures"] == {"N": "0"}


def test_a_live_lease_delays_the_redelivery_instead_of_failing_it_toward_the_dlq(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = LocalStack(extra_environment={"LEASE_SECONDS": "10"}).start(poll=False)
    try:
        crash_after_the_1c_create(monkeypatch)
        post(stack, webhook(1001))
        receives = 0
        for _ in range(60):
            if stack.queued_messages() == 0:
                break
            receives += stack.event_source.poll_once(wait_seconds=1)
        # 1: created in 1C, crashed before the ledger write; 2: met the live lease and waited it out;
        # 3: claimed after the lease and found the document by its key (with backoff alone: one receive per
        # 1, 2, 4, 4 s, i.e. four receives spent inside the lease)
        assert receives == 3
        [draft] = drafts_for(stack, 1001)
        record = ledger_of(stack).get(key(1001))
        assert record is not None
        assert record.status is LedgerStatus.CREATED
        assert record.onec_ref_key == draft["Ref_Key"]
        assert dead_letters(stack) == 0
    finally:
        stack.stop()


def crash_after_the_1c_create(monkeypatch: pytest.MonkeyPatch) -> None:
    real_mark_created = Ledger.mark_created
    crashes = iter([True])

    def crash_once(self: Ledger, key: str, **fields: Any) -> bool:
        if next(crashes, False):
            raise RuntimeError("the Lambda died here")
        return real_mark_created(self, key, **fields)

    monkeypatch.setattr(Ledger, "mark_created", crash_once)


def test_a_copy_steps_back_while_the_holder_lives_and_takes_over_from_a_dead_one(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    crash_after_the_1c_create(monkeypatch)
    post(stack, webhook(1001))
    stack.event_source.poll_once(wait_seconds=1)  # created in 1C, then the worker died
    assert stack.resources is not None
    stack.sqs.purge_queue(QueueUrl=stack.resources.queue_url)  # and its message is gone too

    post(stack, webhook(1001))  # a copy while the lease is live: the holder may still finish, step back
    stack.event_source.poll_once(wait_seconds=1)
    assert stack.queued_messages() == 0
    record = ledger_of(stack).get(key(1001))
    assert record is not None
    assert record.status is LedgerStatus.IN_PROGRESS

    an_hour_later()  # the holder's lease has expired
    post(stack, webhook(1001))  # a copy now takes over
    drain(stack)
    [draft] = drafts_for(stack, 1001)
    record = ledger_of(stack).get(key(1001))
    assert record is not None
    assert record.status is LedgerStatus.CREATED
    assert record.onec_ref_key == draft["Ref_Key"]


def test_the_sweep_queues_a_deal_stuck_in_progress_that_the_reconciler_skips(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    crash_after_the_1c_create(monkeypatch)
    post(stack, webhook(1001))
    stack.event_source.poll_once(wait_seconds=1)
    assert stack.resources is not None
    stack.sqs.purge_queue(QueueUrl=stack.resources.queue_url)  # the message is lost (or dead-lettered)
    an_hour_later()

    stack.run_reconciler()
    assert stack.queued_messages() == 1  # the sweep's message; Bitrix24's listing alone would skip the deal
    stack.run_reconciler()
    assert stack.queued_messages() == 1  # queued once per interval, not once per run
    drain(stack)

    [draft] = drafts_for(stack, 1001)
    record = ledger_of(stack).get(key(1001))
    assert record is not None
    assert record.status is LedgerStatus.CREATED
    assert record.onec_ref_key == draft["Ref_Key"]
    assert record.sweep_at == 0  # finished deals leave the sweep index


def test_the_sweep_queues_a_deal_left_retrying_by_a_lost_message(stack: LocalStack) -> None:
    stack.onec.fail_next(1, status=500, http_method="POST")  # the create fails (the look-ups before it do not)
    post(stack, webhook(1002))
    stack.event_source.poll_once(wait_seconds=1)
    record = ledger_of(stack).get(key(1002))
    assert record is not None
    assert record.status is LedgerStatus.RETRYING
    assert stack.resources is not None
    stack.sqs.purge_queue(QueueUrl=stack.resources.queue_url)

    stack.run_reconciler()  # not yet: its retry may still be on the way
    assert stack.queued_messages() == 0
    an_hour_later()
    stack.run_reconciler()
    assert stack.queued_messages() == 1
    drain(stack)
    assert len(drafts_for(stack, 1002)) == 1
    record = ledger_of(stack).get(key(1002))
    assert record is not None
    assert record.status is LedgerStatus.CREATED


def test_a_refused_1c_login_is_a_set_up_failure_not_a_rejection(stack: LocalStack, emitted: Counter[str]) -> None:
    deals = (1001, 1002)
    stack.onec.set_credentials(ONEC_USERNAME, "changed-in-1c")  # the secret's password no longer works
    for deal_id in deals:
        post(stack, webhook(deal_id))
    receive_until(stack, 3 * len(deals))

    assert stack.onec.documents() == []
    records = ledger_of(stack).get_many(key(deal_id) for deal_id in deals)
    assert {record.status for record in records.values()} == {LedgerStatus.RETRYING}
    assert emitted["SetupFailures"] >= len(deals)
    assert emitted["DealsRejected"] == 0
    notices = stack.bitrix.timeline_comments
    assert sorted(comment.entity_id for comment in notices) == list(deals)  # one per deal, however many retries
    for comment in notices:
        assert "администратора" in comment.comment
        assert "сохраните" not in comment.comment.lower()

    stack.onec.set_credentials(ONEC_USERNAME, ONEC_PASSWORD)  # fixed; no manager does anything
    drain(stack, rounds=100)

    assert all(len(drafts_for(stack, deal_id)) == 1 for deal_id in deals)
    assert dead_letters(stack) == 0
    comments = Counter(comment.entity_id for comment in stack.bitrix.timeline_comments)
    assert comments == dict.fromkeys(deals, 2)  # the notice and the draft's number


def test_an_unusable_secret_is_retried_and_counted(stack: LocalStack, emitted: Counter[str]) -> None:
    assert stack.resources is not None
    secrets = boto3.client("secretsmanager")
    good = secrets.get_secret_value(SecretId=stack.resources.secret_id)["SecretString"]
    post(stack, webhook(1001))
    secrets.put_secret_value(SecretId=stack.resources.secret_id, SecretString='{"onec_username": "x"}')
    forget_warm_state()
    receive_until(stack, 2)
    assert emitted["SetupFailures"] >= 1
    assert stack.queued_messages() == 1
    assert stack.bitrix.timeline_comments == []

    secrets.put_secret_value(SecretId=stack.resources.secret_id, SecretString=good)
    forget_warm_state()
    drain(stack, rounds=30)
    assert len(drafts_for(stack, 1001)) == 1


def test_a_write_back_retry_waits_its_delay(stack: LocalStack) -> None:
    stack.bitrix.block_method("crm.timeline.comment.add", 3600)
    post(stack, webhook(1001))
    stack.event_source.poll_once(wait_seconds=1)

    assert len(drafts_for(stack, 1001)) == 1
    assert stack.resources is not None
    attributes = stack.sqs.get_queue_attributes(
        QueueUrl=stack.resources.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"  # the comment, held back
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert stack.event_source.poll_once() == 0  # nothing to hand out before its delay


def test_one_probe_at_a_time_and_a_stuck_probe_frees_its_slot(stack: LocalStack) -> None:
    assert stack.resources is not None
    store = BreakerStore(
        stack.dynamodb, stack.resources.table_name, BreakerSettings(failure_threshold=1, open_seconds=60)
    )
    first = store.breaker("onec:test")
    assert first.admit() is None
    first.failed()  # opens: the next probe in 60 s
    assert store.breaker("onec:test").admit() is not None  # open: short-circuited

    an_hour_later()  # the probe time has passed; two workers arrive together
    workers = [store.breaker("onec:test") for _ in range(2)]
    admitted = [worker.admit() is None for worker in workers]
    assert sorted(admitted) == [False, True]  # one of them probes

    # the prober dies without a word; once its slot's time has passed, another worker probes
    clock.use_time_source(lambda: time.time() + 3600 + 61)
    late = store.breaker("onec:test")
    assert late.admit() is None
    late.succeeded()
    assert store.breaker("onec:test").admit() is None  # closed for everyone
