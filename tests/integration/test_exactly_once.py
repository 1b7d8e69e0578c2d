"""Exactly once against concurrency, crashes and outages (DESIGN §3), with moto and both sandboxes.

Concurrent workers are separate pipelines, as separate Lambda execution environments would be: they share
only DynamoDB, Bitrix24 and 1C.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from invoice_bridge.config import processor_settings
from invoice_bridge.events import EntityType, QueueMessage
from invoice_bridge.ledger.deals import Ledger
from invoice_bridge.ledger.records import LedgerStatus
from invoice_bridge.pipeline.outcome import OutcomeKind
from invoice_bridge.pipeline.process import InvoicePipeline
from invoice_bridge.pipeline.wiring import portal_pipelines
from invoice_bridge.secret import load_secret
from local.bitrix24.sandbox import Bitrix24Sandbox
from local.seed import PORTAL_DOMAIN, PORTAL_MEMBER_ID
from local.stack import LocalStack
from tests.integration.test_bridge_end_to_end import drafts_for, drain, post, webhook

DEAL = 1001
KEY = f"{PORTAL_MEMBER_ID}#deal#{DEAL}"


def message(deal_id: int = DEAL) -> QueueMessage:
    return QueueMessage(
        member_id=PORTAL_MEMBER_ID,
        domain=PORTAL_DOMAIN,
        entity_type=EntityType.DEAL,
        entity_id=deal_id,
        event="ONCRMDEALUPDATE",
        ts=1795428000,
    )


def fresh_pipeline() -> InvoicePipeline:
    """A pipeline of its own, like a separate execution environment."""
    settings = processor_settings()
    pipelines = portal_pipelines.__wrapped__(settings, load_secret(settings.bridge_secret_id, 0), None)
    pipeline = pipelines.get(PORTAL_MEMBER_ID)
    assert pipeline is not None
    return pipeline


def ledger_of(stack: LocalStack) -> Ledger:
    assert stack.resources is not None
    return Ledger(stack.dynamodb, stack.resources.table_name)


@pytest.fixture
def stack_with_short_lease() -> Iterator[LocalStack]:
    stack = LocalStack(extra_environment={"LEASE_SECONDS": "10"}).start(poll=False)
    yield stack
    stack.stop()


@pytest.fixture
def roomy_stack() -> Iterator[LocalStack]:
    """A portal whose rate limit the fifty readers cannot hit: this test is about the ledger, not the limit."""
    stack = LocalStack(bitrix=Bitrix24Sandbox(burst=10_000)).start(poll=False)
    yield stack
    stack.stop()


def test_fifty_copies_processed_concurrently_leave_one_document(roomy_stack: LocalStack) -> None:
    stack = roomy_stack
    workers = [fresh_pipeline() for _ in range(50)]
    start = threading.Barrier(len(workers))

    def work(index: int) -> OutcomeKind:
        pipeline = workers[index]
        snapshots = pipeline.read_snapshots([message()])
        start.wait()
        return pipeline.process(message(), snapshots[(EntityType.DEAL, DEAL)], delivery_id=f"copy-{index}").kind

    with ThreadPoolExecutor(max_workers=len(workers)) as pool:
        outcomes = list(pool.map(work, range(len(workers))))

    assert len(drafts_for(stack, DEAL)) == 1
    assert outcomes.count(OutcomeKind.CREATED) == 1
    assert set(outcomes) <= {OutcomeKind.CREATED, OutcomeKind.DUPLICATE}  # no copy failed
    record = ledger_of(stack).get(KEY)
    assert record is not None
    assert record.status is LedgerStatus.CREATED


def test_two_processors_racing_one_deal_make_one_document_and_the_loser_neither_fails_nor_creates(
    stack: LocalStack,
) -> None:
    first, second = fresh_pipeline(), fresh_pipeline()
    snapshots = [p.read_snapshots([message()])[(EntityType.DEAL, DEAL)] for p in (first, second)]
    # hold the winner inside 1C while the loser arrives
    stack.onec.set_latency(0.5)
    with ThreadPoolExecutor(max_workers=2) as pool:
        winner = pool.submit(first.process, message(), snapshots[0], "delivery-a")
        threading.Event().wait(0.2)
        loser = pool.submit(second.process, message(), snapshots[1], "delivery-b")
        kinds = {winner.result().kind, loser.result().kind}
    stack.onec.set_latency(0.0)

    assert kinds == {OutcomeKind.CREATED, OutcomeKind.DUPLICATE}
    assert len(drafts_for(stack, DEAL)) == 1


def test_crash_between_the_1c_create_and_the_ledger_write(
    stack_with_short_lease: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = stack_with_short_lease
    real_mark_created = Ledger.mark_created
    crashes = iter([True])

    def crash_once(self: Ledger, key: str, **fields: object) -> bool:
        if next(crashes, False):
            raise RuntimeError("the Lambda died here")
        return real_mark_created(self, key, **fields)  # type: ignore[arg-type]

    monkeypatch.setattr(Ledger, "mark_created", crash_once)
    post(stack, webhook(DEAL))
    drain(stack, rounds=40)  # the redelivery waits out the dead attempt's lease (10 s here)

    [draft] = drafts_for(stack, DEAL)
    record = ledger_of(stack).get(KEY)
    assert record is not None
    assert record.status is LedgerStatus.CREATED
    assert record.onec_ref_key == draft["Ref_Key"]
    posts = [entry for entry in stack.onec.request_log if entry.method == "POST"]
    assert len(posts) == 1  # the retry found the document by its key


def test_1c_down_for_a_stretch_then_back_creates_every_deal_once(stack: LocalStack) -> None:
    deals = (1001, 1002, 1003, 1007)
    stack.onec.fail_next(12, status=500, code="-1", message="Произошла внутренняя ошибка OData сервиса")
    for deal_id in deals:
        post(stack, webhook(deal_id))
    # the 1C breaker opens after 5 failures; then each probe, one at a time, meets one of the 12 faults
    drain(stack, rounds=120)

    assert all(len(drafts_for(stack, deal_id)) == 1 for deal_id in deals)
    records = ledger_of(stack).get_many(f"{PORTAL_MEMBER_ID}#deal#{deal_id}" for deal_id in deals)
    assert {record.status for record in records.values()} == {LedgerStatus.CREATED}
    assert stack.resources is not None
    dead = stack.sqs.get_queue_attributes(
        QueueUrl=stack.resources.dead_letter_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert dead == "0"
