"""Portals bound to their credentials, through the real handlers (receiver, processor, reconciler) with moto and
the Bitrix24 and 1C sandboxes: two portals whose deal ids overlap, a token used for another portal, the first
release's single-portal secret and its pin, and a hundred portals swept within the reconciler's timeout."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
import requests

from invoice_bridge.bitrix24.client import Bitrix24Client
from invoice_bridge.events import QueueMessage
from invoice_bridge.ledger.checkpoints import CheckpointStore
from invoice_bridge.ledger.deals import Ledger
from invoice_bridge.ledger.portal_pin import PortalPinStore
from invoice_bridge.ledger.records import LedgerStatus
from invoice_bridge.queue import InvoiceQueue
from invoice_bridge.reconciler import SweptPortal, reconcile
from local.bitrix24.portals import Bitrix24Portals
from local.bitrix24.sandbox import Bitrix24Sandbox
from local.onec.sandbox import OnecSandbox
from local.seed import (
    APPLICATION_TOKEN,
    DEALS,
    ONEC_BASE,
    PORTAL_B_APPLICATION_TOKEN,
    PORTAL_B_DEALS,
    PORTAL_B_DOMAIN,
    PORTAL_B_MEMBER_ID,
    PORTAL_DOMAIN,
    PORTAL_MEMBER_ID,
    Deal,
    ProductRow,
)
from local.stack import LocalStack
from local.webhooks import FORM_HEADERS, webhook_body

BUYERS = {counterparty.ref_key: counterparty.inn for counterparty in ONEC_BASE.counterparties}


def post(stack: LocalStack, body: bytes) -> requests.Response:
    return requests.post(stack.webhook_url, data=body, headers=FORM_HEADERS, timeout=10)


def portal_b_webhook(deal_id: int, **overrides: Any) -> bytes:
    return webhook_body(
        deal_id,
        token=PORTAL_B_APPLICATION_TOKEN,
        member_id=overrides.get("member_id", PORTAL_B_MEMBER_ID),
        domain=overrides.get("domain", PORTAL_B_DOMAIN),
    )


def drain(stack: LocalStack, rounds: int = 20) -> None:
    for _ in range(rounds):
        if stack.queued_messages() == 0:
            return
        stack.event_source.poll_once(wait_seconds=1)
    raise AssertionError("the queue did not drain")


def documents_of(stack: LocalStack, member_id: str, deal_id: int) -> list[dict[str, Any]]:
    marker = f"[b24:{member_id}:deal:{deal_id}]"
    return [doc for doc in stack.onec.documents() if marker in str(doc["Комментарий"])]


def ledger_of(stack: LocalStack) -> Ledger:
    assert stack.resources is not None
    return Ledger(stack.dynamodb, stack.resources.table_name)


def pins_of(stack: LocalStack) -> PortalPinStore:
    assert stack.resources is not None
    return PortalPinStore(stack.dynamodb, stack.resources.table_name)


def checkpoints_of(stack: LocalStack) -> CheckpointStore:
    assert stack.resources is not None
    return CheckpointStore(stack.dynamodb, stack.resources.table_name)


def queued(stack: LocalStack) -> list[QueueMessage]:
    assert stack.resources is not None
    messages: list[QueueMessage] = []
    while True:
        answer = stack.sqs.receive_message(
            QueueUrl=stack.resources.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=300
        ).get("Messages", [])
        if not answer:
            return messages
        messages.extend(QueueMessage.model_validate_json(message["Body"]) for message in answer)


# ---- two portals, overlapping ids -----------------------------------------------------------------------


def test_two_portals_with_overlapping_ids_get_two_correct_documents_and_their_own_comments(
    stack: LocalStack,
) -> None:
    for deal_id in (1001, 1002):
        assert post(stack, webhook_body(deal_id)).status_code == 200
        assert post(stack, portal_b_webhook(deal_id)).status_code == 200
    stack.bitrix.reset_log()
    stack.bitrix_b.reset_log()
    stack.event_source.poll_once(wait_seconds=1)  # one SQS batch holding both portals' messages
    drain(stack)

    seeds = {PORTAL_MEMBER_ID: {d.id: d for d in DEALS}, PORTAL_B_MEMBER_ID: {d.id: d for d in PORTAL_B_DEALS}}
    numbers: dict[str, set[str]] = {PORTAL_MEMBER_ID: set(), PORTAL_B_MEMBER_ID: set()}
    for member_id, deals in seeds.items():
        for deal_id in (1001, 1002):
            [document] = documents_of(stack, member_id, deal_id)
            assert document["СуммаДокумента"] == deals[deal_id].opportunity
            record = ledger_of(stack).get(f"{member_id}#deal#{deal_id}")
            assert record is not None
            assert record.status is LedgerStatus.CREATED
            assert record.onec_number == document["Number"]
            numbers[member_id].add(str(document["Number"]))
    # the buyers come from each portal's own requisites: A's 1001 is Ромашка, B's 1001 is Вектор
    [a_1001] = documents_of(stack, PORTAL_MEMBER_ID, 1001)
    [b_1001] = documents_of(stack, PORTAL_B_MEMBER_ID, 1001)
    assert BUYERS[a_1001["Контрагент_Key"]] == "7707083893"
    assert BUYERS[b_1001["Контрагент_Key"]] == "7736207543"
    assert b_1001["СуммаДокумента"] == Decimal("366000")

    for sandbox, member_id in ((stack.bitrix, PORTAL_MEMBER_ID), (stack.bitrix_b, PORTAL_B_MEMBER_ID)):
        comments = sandbox.timeline_comments
        assert sorted(c.entity_id for c in comments) == [1001, 1002]
        mentioned = {number for c in comments for number in numbers[member_id] if number in c.comment}
        assert mentioned == numbers[member_id]  # each portal's comments name its own documents only
        # each portal was read in a batch request of its own, through its own webhook
        assert any(entry.method == "batch" for entry in sandbox.request_log)


def test_a_portal_with_its_own_1c_gets_its_documents_there(stack: LocalStack) -> None:
    with OnecSandbox(username="portal-b-odata", password="portal-b-password") as own_base:
        secret = stack.portals_secret()
        secret["portals"][1]["onec"] = {
            "odata_url": own_base.url,
            "username": "portal-b-odata",
            "password": "portal-b-password",
            "organization_inn": "7704407589",
        }
        stack.use_secret(secret)
        assert post(stack, webhook_body(1001)).status_code == 200
        assert post(stack, portal_b_webhook(1001)).status_code == 200
        drain(stack)

        assert [doc["СуммаДокумента"] for doc in stack.onec.documents()] == [Decimal("514000")]
        [b_document] = own_base.documents()
        assert f"[b24:{PORTAL_B_MEMBER_ID}:deal:1001]" in str(b_document["Комментарий"])
        assert b_document["СуммаДокумента"] == Decimal("366000")
        assert own_base.request_log  # reached with its own credentials


# ---- a token used for another portal -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"member_id": PORTAL_B_MEMBER_ID}, "auth[member_id]"),
        ({"domain": PORTAL_B_DOMAIN}, "auth[domain]"),
        ({"member_id": "f" * 32}, "auth[member_id]"),  # an invented portal
    ],
)
def test_a_valid_token_with_another_portals_identity_is_403_and_nothing_is_queued(
    stack: LocalStack, overrides: dict[str, str], field: str
) -> None:
    body = webhook_body(
        1001,
        token=APPLICATION_TOKEN,
        member_id=overrides.get("member_id", PORTAL_MEMBER_ID),
        domain=overrides.get("domain", PORTAL_DOMAIN),
    )
    response = post(stack, body)
    assert response.status_code == 403
    assert field in response.json()["error"]
    assert APPLICATION_TOKEN not in response.text
    assert stack.queued_messages() == 0


def test_the_queued_portal_is_the_one_the_token_authenticated(stack: LocalStack) -> None:
    assert post(stack, portal_b_webhook(1002, domain=PORTAL_B_DOMAIN.upper())).status_code == 200
    [message] = queued(stack)
    assert (message.member_id, message.domain) == (PORTAL_B_MEMBER_ID, PORTAL_B_DOMAIN)


def test_a_message_for_an_unconfigured_portal_fails_and_nothing_is_read_or_written(stack: LocalStack) -> None:
    assert stack.resources is not None
    forged = QueueMessage(
        member_id="f" * 32, domain="evil.test", entity_type="deal", entity_id=1001, event="ONCRMDEALUPDATE", ts=1
    )
    InvoiceQueue(stack.sqs, stack.resources.queue_url).send(forged)
    assert stack.event_source.poll_once(wait_seconds=1) == 1
    assert stack.queued_messages() == 1  # failed: back on the queue after its backoff, the DLQ in the end
    assert ledger_of(stack).get(forged.ledger_key) is None
    assert stack.bitrix.request_log == []
    assert stack.bitrix_b.request_log == []
    assert stack.onec.documents() == []


# ---- the first release's single-portal secret ------------------------------------------------------------


def test_a_first_release_secret_works_pins_on_the_first_event_then_refuses_another_member_id(
    stack: LocalStack,
) -> None:
    stack.use_secret(stack.single_portal_secret())
    pins = pins_of(stack)
    assert pins.portal_pin() is None
    assert stack.run_reconciler()["portals"] == 0  # nothing to sweep before the pin

    assert post(stack, webhook_body(1001)).status_code == 200
    pin = pins.portal_pin()
    assert pin is not None
    assert (pin.member_id, pin.domain) == (PORTAL_MEMBER_ID, PORTAL_DOMAIN)
    drain(stack)
    [document] = documents_of(stack, PORTAL_MEMBER_ID, 1001)
    assert document["СуммаДокумента"] == Decimal("514000")
    assert [c.entity_id for c in stack.bitrix.timeline_comments] == [1001]

    refused = post(stack, webhook_body(1002, member_id=PORTAL_B_MEMBER_ID))
    assert (refused.status_code, stack.queued_messages()) == (403, 0)
    assert "auth[member_id]" in refused.json()["error"]
    stack.use_secret(stack.single_portal_secret())  # a cold start reads the pin from the ledger
    assert post(stack, webhook_body(1002, domain=PORTAL_B_DOMAIN)).status_code == 403
    assert post(stack, webhook_body(1002)).status_code == 200
    assert pins.portal_pin() == pin

    report = stack.run_reconciler()
    assert (report["portals"], report["swept"]) == (1, 1)


# ---- a hundred portals -------------------------------------------------------------------------------------


def numbered_deal(index: int) -> Deal:
    """Portal i's won deal 1001: one laptop line, i+1 of them (so every portal's amount differs)."""
    quantity = Decimal(index + 1)
    return Deal(
        id=1001,
        title=f"Поставка {index}",
        stage_id="WON",
        stage_semantic_id="S",
        category_id=0,
        company_id=11,
        requisite_id=21,
        rows=(
            ProductRow(
                id=5001,
                product_id=101,
                product_name="Ноутбук ProBook 450 G10",
                price=Decimal("122000.00"),
                quantity=quantity,
                tax_rate=Decimal("22"),
                tax_included=True,
            ),
        ),
        opportunity=Decimal("122000.00") * quantity,
        tax_value=Decimal("22000.00") * quantity,
    )


@pytest.fixture
def hundred_portals(stack: LocalStack) -> Iterator[tuple[LocalStack, Bitrix24Portals]]:
    sandboxes = [Bitrix24Sandbox(deals=(), smart_invoices=(), webhook_code=f"portal{i:03d}code") for i in range(100)]
    for index, sandbox in enumerate(sandboxes):
        sandbox.set_deal(numbered_deal(index))  # modified now: inside the reconciler's first look-back
    with Bitrix24Portals(sandboxes) as portals:
        secret = {
            "portals": [
                {
                    "member_id": f"{index:032x}",
                    "domain": f"portal{index:03d}.bitrix24.test",
                    "webhook_url": portals.webhook_url(sandbox),
                    "application_tokens": [f"token-of-portal-{index:03d}"],
                }
                for index, sandbox in enumerate(sandboxes)
            ],
            **stack.onec_secret(),
        }
        stack.use_secret(secret)
        yield stack, portals


def test_a_hundred_portals_are_swept_within_the_reconcilers_timeout(
    hundred_portals: tuple[LocalStack, Bitrix24Portals],
) -> None:
    stack, portals = hundred_portals
    report = stack.run_reconciler()  # the template's timeout; no portal is started without room to finish

    assert report["portals"] == report["swept"] == 100
    assert (report["deferred"], report["failed"], report["complete"]) == (0, 0, True)
    assert report["queued"] == 100
    # the cost: 2 Bitrix24 requests a portal (deals and new invoices, one batch each), each to its own portal
    assert report["bitrix24_requests"] == 200
    assert [len(sandbox.request_log) for sandbox in portals.sandboxes] == [2] * 100
    messages = queued(stack)
    assert sorted((m.member_id, m.domain, m.entity_id) for m in messages) == [
        (f"{index:032x}", f"portal{index:03d}.bitrix24.test", 1001) for index in range(100)
    ]
    assert len(checkpoints_of(stack).checkpoints(f"{index:032x}" for index in range(100))) == 100


def test_portals_the_deadline_leaves_out_go_first_next_run(
    hundred_portals: tuple[LocalStack, Bitrix24Portals],
) -> None:
    stack, portals = hundred_portals
    assert stack.resources is not None
    ledger = ledger_of(stack)
    queue = InvoiceQueue(stack.sqs, stack.resources.queue_url)
    targets = [
        SweptPortal(
            f"{index:032x}", f"portal{index:03d}.bitrix24.test", Bitrix24Client(portals.webhook_url(s), timeout=5)
        )
        for index, s in enumerate(portals.sandboxes)
    ]

    def run(starts_allowed: int) -> tuple[dict[str, Any], set[str]]:
        """A run whose deadline comes after `starts_allowed` portals have started (a clock, not a timer)."""
        for sandbox in portals.sandboxes:
            sandbox.reset_log()
        calls = iter(range(10_000))
        report = reconcile(
            portals=targets,
            ledger=ledger,
            checkpoint_store=checkpoints_of(stack),
            enqueue=queue.send_many,
            trigger_stage_ids=(),
            now=datetime.now(UTC),
            first_lookback=timedelta(hours=24),
            max_requests=20,
            remaining_seconds=lambda: 100.0 if next(calls) < starts_allowed else 0.0,
            concurrency=4,
            reserve_seconds=10,
        )
        reached = {t.member_id for t, s in zip(targets, portals.sandboxes, strict=True) if s.request_log}
        return dataclasses.asdict(report), reached

    first, reached_first = run(30)
    assert (first["swept"], first["deferred"], first["complete"]) == (30, 70, False)
    second, reached_second = run(70)
    assert reached_second == {t.member_id for t in targets} - reached_first  # the left-out ones, first
    assert (second["swept"], second["deferred"]) == (70, 30)
    third, _ = run(100)
    assert (third["swept"], third["complete"]) == (100, True)


def test_the_local_secret_uses_the_portals_form(stack: LocalStack) -> None:
    assert stack.resources is not None
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=stack.resources.secret_id)
    value = json.loads(secret["SecretString"])
    assert [p["member_id"] for p in value["portals"]] == [PORTAL_MEMBER_ID, PORTAL_B_MEMBER_ID]
    assert "bitrix24_webhook_url" not in value
