"""The lean local DynamoDB and SQS (local.aws.lean_server, what `make bench` runs on) answer the bridge's
operations exactly as moto does: each scenario runs once against moto and once against the lean server, on the
table and queues template.yaml declares, and every observation (return values, failed conditions, the items
written, index queries and their pages, receive counts, visibility, delays, the redrive to the DLQ) must be equal.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from invoice_bridge import clock
from invoice_bridge.breaker import BreakerSettings, BreakerStore
from invoice_bridge.ledger.checkpoints import CheckpointStore
from invoice_bridge.ledger.deals import Ledger
from invoice_bridge.ledger.portal_pin import PortalPinStore
from invoice_bridge.ledger.records import LedgerStatus
from invoice_bridge.status_sync.open_documents import OpenDocuments
from invoice_bridge.status_sync.state import Told
from local.aws.lambda_runtime import ROOT
from local.aws.lean_server import LeanServer
from local.aws.moto_server import MotoServer
from local.aws.template_resources import LocalResources, create_resources, load_template

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

T0 = 1_800_000_000
RETURNS = ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW")
COMPARATORS = ("=", "<>", "<", ">=")


@dataclass
class Backend:
    name: str
    dynamodb: DynamoDBClient
    sqs: SQSClient
    resources: LocalResources


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint,
        region_name="eu-central-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


@pytest.fixture(scope="module")
def backends() -> Iterator[Callable[[], list[Backend]]]:
    """Fresh moto and lean backends (the template's resources in each) per call."""
    moto = MotoServer()
    moto.start()
    servers: list[LeanServer] = []

    def make() -> list[Backend]:
        requests.post(f"{moto.endpoint}/moto-api/reset", timeout=10).raise_for_status()
        lean = LeanServer()
        lean.start()
        servers.append(lean)
        made = []
        for name, endpoint in (("moto", moto.endpoint), ("lean", lean.endpoint)):
            dynamodb, sqs = _client("dynamodb", endpoint), _client("sqs", endpoint)
            resources = create_resources(
                sqs=sqs,
                dynamodb=dynamodb,
                secretsmanager=_client("secretsmanager", moto.endpoint),
                template=load_template(ROOT / "template.yaml"),
                stack_name=f"parity-{name}",
                secret_value={"portals": [], "onec_odata_url": "x", "onec_username": "x", "onec_password": "x"},
            )
            made.append(Backend(name, dynamodb, sqs, resources))
        return made

    try:
        yield make
    finally:
        for server in servers:
            server.stop()
        moto.stop()


@pytest.fixture
def at() -> Iterator[list[int]]:
    """The bridge's clock, set by the scenario (both backends see the same times)."""
    now = [T0]
    clock.use_time_source(lambda: float(now[0]))
    try:
        yield now
    finally:
        clock.use_time_source(None)


def _error(call: Callable[[], Any]) -> Any:
    try:
        answer = call()
    except ClientError as exc:
        return ("error", exc.response["Error"]["Code"])
    if isinstance(answer, dict):
        answer.pop("ResponseMetadata", None)
        answer.pop("ConsumedCapacity", None)  # moto adds it unasked
    return answer


def _ledger_scenario(backend: Backend, now: list[int]) -> list[Any]:
    """The ledger's, the breaker's and the status sync's own writes and reads, their conditions failing and
    holding, then raw calls for what they do not use (other ReturnValues, refused requests, paging)."""
    table = backend.resources.table_name
    ledger = Ledger(backend.dynamodb, table)
    seen: list[Any] = []

    def item(key: str) -> Any:
        return backend.dynamodb.get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True).get("Item")

    keys = [f"m#deal#{n}" for n in range(1, 6)]
    for offset, key in enumerate(keys):
        now[0] = T0 + offset
        claim = ledger.claim(key, owner=f"o{offset}", content_hash="h1", lease_seconds=180, delivery_id=f"d{offset}")
        seen.append(("claim", key, claim))
    now[0] = T0 + 10
    seen.append(("claim held", ledger.claim(keys[0], owner="x", content_hash="h1", lease_seconds=180)))
    seen.append(
        ("created", ledger.mark_created(keys[0], owner="o0", ref_key="r0", number="N0", total="1.00", vat_total="0.17"))
    )
    seen.append(
        (
            "created again by another",
            ledger.mark_created(keys[0], owner="x", ref_key="r", number="N", total="1", vat_total="0"),
        )
    )
    seen.append(("same content", ledger.claim(keys[0], owner="y", content_hash="h1", lease_seconds=180)))
    seen.append(("unknown", ledger.mark_outcome_unknown(keys[1], owner="o1", since=T0 - 5)))
    seen.append(("unknown kept", ledger.mark_outcome_unknown(keys[1], owner="o1", since=T0 - 1)))
    seen.append(("released", ledger.release(keys[1], owner="o1", error="1C down", sweep_after_seconds=60)))
    seen.append(("rejected", ledger.mark_rejected(keys[2], content_hash="h2", reasons=("a", "b"), owner="o2")))
    seen.append(("rejected again", ledger.mark_rejected(keys[2], content_hash="h2", reasons=("a",))))
    seen.append(("rejected new", ledger.mark_rejected("m#deal#99", content_hash="h9", reasons=())))
    seen.append(("notice", ledger.note_setup_notice(keys[3]), ledger.note_setup_notice(keys[3])))
    seen.append(("notice absent", ledger.note_setup_notice("m#deal#404")))
    seen.append(("preflight", ledger.note_preflight(keys[4], "t1"), ledger.note_preflight(keys[4], "t1")))
    seen.append(("preflight changed", ledger.note_preflight(keys[4], "t2")))
    seen.append(("withdrawn", ledger.mark_withdrawn(keys[0], stage="LOSE"), ledger.mark_withdrawn(keys[1], stage="X")))
    now[0] = T0 + 400  # every lease has expired
    seen.append(("take over", ledger.claim(keys[3], owner="z", content_hash="h1", lease_seconds=180)))
    seen.append(("due", ledger.due_for_sweep(T0 + 300, limit=10)))
    seen.append(("due, first two", ledger.due_for_sweep(T0 + 300, limit=2)))
    due = ledger.due_for_sweep(T0 + 300, limit=10)
    seen.append(("postponed", ledger.postpone_sweep(due[0], until=T0 + 900), ledger.postpone_sweep(due[0], until=1)))
    seen.append(("many", ledger.get_many([*keys, "m#deal#404"])))
    pins = PortalPinStore(backend.dynamodb, table)
    seen.append(("pin", pins.pin_portal("m", "a.example"), pins.pin_portal("n", "b.example")))
    checkpoints = CheckpointStore(backend.dynamodb, table)
    checkpoints.save_checkpoint("m", datetime(2027, 1, 1, tzinfo=UTC))
    seen.append(("checkpoints", checkpoints.checkpoints(["m", "n"]), checkpoints.checkpoint("m")))

    breakers = BreakerStore(backend.dynamodb, table, BreakerSettings(failure_threshold=2, open_seconds=30))
    for step in range(3):
        breaker = breakers.breaker("onec:x")
        breaker._owner = f"b{step}"  # the probe slot's owner, a uuid otherwise
        seen.append(("breaker", step, breaker.admit()))
        breaker.failed()
        breaker.failed()
        seen.append(("breaker item", step, item("breaker#onec:x")))
        now[0] += 31
    closing = breakers.breaker("onec:x")
    seen.append(("probe", closing.admit()))
    closing.succeeded()
    seen.append(("closed", item("breaker#onec:x")))

    documents = OpenDocuments(backend.dynamodb, table)
    opened = documents.of_portal("m", since=0)
    seen.append(("open", opened))
    seen.append(("open items", [item(document.key) for document in opened]))
    for document in opened:
        seen.append(("record", documents.record(document, Told.load(""), close=True)))
        seen.append(("record stale", documents.record(document, Told.load(""), close=False)))
    seen.append(("after records", documents.of_portal("m", since=0), [item(key) for key in keys]))

    raw: Any = backend.dynamodb  # the raw calls' shapes, unchecked by the stubs
    a, b, c, one = {"S": "a"}, {"S": "b"}, {"S": "c"}, {"N": "1"}
    adds = "ADD n :one SET a = :a, b = if_not_exists(b, :one) REMOVE c"
    updates: list[tuple[str, dict[str, Any]]] = [
        *(
            (returned, {"UpdateExpression": adds, "ReturnValues": returned, ":one": one, ":a": a})
            for returned in RETURNS
        ),
        (
            "arithmetic",
            {"UpdateExpression": "SET n = n - :one, c = :one + :one", "ReturnValues": "ALL_NEW", ":one": one},
        ),
        ("unused value", {"UpdateExpression": "SET a = :a", ":a": a, ":one": one}),
        ("undefined value", {"UpdateExpression": "SET a = :zzz", ":a": a}),
        ("reserved word", {"UpdateExpression": "SET size = :a", ":a": a}),
        ("key", {"UpdateExpression": "SET pk = :a", ":a": a}),
        ("missing operand", {"UpdateExpression": "SET a = nothing_here"}),
        ("not", {"ConditionExpression": "NOT (n < :one OR b BETWEEN :one AND :one)", ":a": b, ":one": one}),
        *((f"missing {op}", {"ConditionExpression": f"absent_attribute {op} :a", ":a": c}) for op in COMPARATORS),
        ("begins_with", {"ConditionExpression": "begins_with(a, :p)", ":a": {"S": "ab"}, ":p": c}),
    ]
    for name, case in updates:
        values = {placeholder: value for placeholder, value in case.items() if placeholder.startswith(":")}
        request = {"UpdateExpression": "SET a = :a"} | {k: v for k, v in case.items() if not k.startswith(":")}
        if values:
            request["ExpressionAttributeValues"] = values
        seen.append((name, _error(partial(raw.update_item, TableName=table, Key={"pk": {"S": "raw"}}, **request))))
    seen.append(("raw", item("raw")))
    seen.append(
        (
            "projection",
            _error(
                lambda: raw.get_item(
                    TableName=table,
                    Key={"pk": {"S": keys[0]}},
                    ProjectionExpression="#s, onec_number, nothing",
                    ExpressionAttributeNames={"#s": "status"},
                )
            ),
        )
    )
    seen.append(("no table", _error(lambda: raw.get_item(TableName="nope", Key={"pk": {"S": "raw"}}))))
    seen.append(("bad key", _error(lambda: raw.get_item(TableName=table, Key={"other": {"S": "x"}}))))
    backwards = partial(
        raw.query,
        TableName=table,
        IndexName="sweep-due",
        KeyConditionExpression="sweep = :p AND sweep_at BETWEEN :a AND :b",
        ExpressionAttributeValues={":p": {"S": "pending"}, ":a": {"N": "0"}, ":b": {"N": str(T0 + 10_000)}},
        Limit=1,
        ScanIndexForward=False,
    )
    page = _error(backwards)
    seen.append(("page", page, _error(partial(backwards, ExclusiveStartKey=page["LastEvaluatedKey"]))))
    return seen


def test_the_ledger_breaker_and_status_sync_operations_answer_as_on_moto(
    backends: Callable[[], list[Backend]], at: list[int]
) -> None:
    runs = []
    for backend in backends():
        at[0] = T0
        runs.append(_ledger_scenario(backend, at))
    moto, lean = runs
    for expected, actual in zip(moto, lean, strict=True):
        assert actual == expected
    # the scenario reached what it is about: conditions failing and holding, the indexes, a full breaker cycle
    observed = {entry[0]: entry[1:] for entry in moto if isinstance(entry, tuple)}
    assert observed["claim held"] == (None,)
    assert observed["same content"] == (None,)
    assert observed["created"] == (True,)
    assert observed["created again by another"] == (False,)
    assert [record.status for record in observed["due"][0]] == [LedgerStatus.RETRYING, LedgerStatus.IN_PROGRESS]
    assert observed["postponed"] == (True, False)
    assert len(observed["open"][0]) == 1
    assert observed["record"] == (True,)
    assert observed["record stale"] == (False,)
    assert observed["unused value"][0] == ("error", "ValidationException")
    assert "LastEvaluatedKey" in observed["page"][0]
    # a comparison with a missing attribute is false, except <>
    assert observed["missing ="] == (("error", "ConditionalCheckFailedException"),)
    assert observed["missing <>"] == ({},)


def _message(message: Any) -> dict[str, Any]:
    """What must agree about a received message (ids, handles and timestamps differ by nature)."""
    attributes = message.get("Attributes", {})
    return {
        "Body": message["Body"],
        "MD5OfBody": message["MD5OfBody"],
        "MessageAttributes": message.get("MessageAttributes"),
        "MD5OfMessageAttributes": message.get("MD5OfMessageAttributes"),
        "ReceiveCount": attributes.get("ApproximateReceiveCount"),
        "AttributeNames": sorted(attributes),
    }


COUNTS = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]


def _queue_scenario(backend: Backend) -> list[Any]:
    sqs = backend.sqs
    queue, dead = backend.resources.queue_url, backend.resources.dead_letter_queue_url
    seen: list[Any] = []

    def counts(url: str) -> dict[str, str]:
        return dict(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=COUNTS)["Attributes"])  # type: ignore[arg-type]

    def receive(count: int = 10, **extra: Any) -> list[dict[str, Any]]:
        answer = sqs.receive_message(
            QueueUrl=queue,
            MaxNumberOfMessages=count,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            **extra,
        )
        return answer.get("Messages", [])  # type: ignore[return-value]

    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn", "VisibilityTimeout", "RedrivePolicy"])
    seen.append(("queue", {k: v.replace(backend.name, "") for k, v in arn["Attributes"].items()}))
    for n in range(3):
        sent = sqs.send_message(
            QueueUrl=queue,
            MessageBody=json.dumps({"deal": n}),
            MessageAttributes={"ledger_key": {"DataType": "String", "StringValue": f"m#deal#{n}"}},
        )
        seen.append(("sent", sent["MD5OfMessageBody"], sent.get("MD5OfMessageAttributes")))
    batch = sqs.send_message_batch(
        QueueUrl=queue,
        Entries=[{"Id": str(n), "MessageBody": f"later {n}", "DelaySeconds": 1} for n in range(2)],
    )
    seen.append(("batch", sorted(entry["Id"] for entry in batch["Successful"]), batch.get("Failed", [])))
    seen.append(("counts", counts(queue)))
    first = receive(2)
    seen.append(("first", [_message(m) for m in first]))
    seen.append(("counts in flight", counts(queue)))
    rest = receive(10, VisibilityTimeout=5)
    seen.append(("rest", [_message(m) for m in rest]))
    seen.append(("nothing visible", receive(10)))
    deleted = sqs.delete_message_batch(
        QueueUrl=queue,
        Entries=[
            {"Id": "a", "ReceiptHandle": first[0]["ReceiptHandle"]},
            {"Id": "b", "ReceiptHandle": "not-a-handle"},
        ],
    )
    seen.append(("deleted", deleted.get("Successful"), [(f["Id"], f["Code"]) for f in deleted.get("Failed", [])]))
    seen.append(
        ("deleted again", _error(lambda: sqs.delete_message(QueueUrl=queue, ReceiptHandle=first[0]["ReceiptHandle"])))
    )
    seen.append(
        (
            "bad handle",
            _error(lambda: sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle="nope", VisibilityTimeout=0)),
        )
    )
    seen.append(
        (
            "too long",
            _error(
                lambda: sqs.change_message_visibility(
                    QueueUrl=queue, ReceiptHandle=first[1]["ReceiptHandle"], VisibilityTimeout=43201
                )
            ),
        )
    )
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=first[1]["ReceiptHandle"], VisibilityTimeout=0)
    seen.append(("back at once", [_message(m) for m in receive(10)]))
    time.sleep(1.2)  # the batch's DelaySeconds run out (SQS's delay, real seconds in moto and the lean queue)
    delayed = receive(10)
    seen.append(("after the delay", sorted(m["Body"] for m in delayed)))
    # the redrive: a message received maxReceiveCount times moves to the DLQ on the next receive
    target = next(m for m in delayed if m["Body"] == "later 0")
    for m in delayed:
        if m is not target:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    for m in rest + first[1:]:
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    handle = target["ReceiptHandle"]
    receives = 1
    while True:
        sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=handle, VisibilityTimeout=0)
        again = receive(1)
        if not again:
            break
        receives += 1
        handle = again[0]["ReceiptHandle"]
    seen.append(("received before the DLQ", receives))
    seen.append(("counts after", counts(queue), counts(dead)))
    in_dead = sqs.receive_message(QueueUrl=dead, AttributeNames=["ApproximateReceiveCount"], MaxNumberOfMessages=10)
    seen.append(("dead letters", [_message(m) for m in in_dead.get("Messages", [])]))
    seen.append(("long poll, empty", sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])))
    seen.append(("no queue", _error(lambda: sqs.get_queue_url(QueueName="nope"))))
    return seen


def test_the_queue_operations_answer_as_on_moto(backends: Callable[[], list[Backend]]) -> None:
    moto, lean = (_queue_scenario(backend) for backend in backends())
    for expected, actual in zip(moto, lean, strict=True):
        assert actual == expected
    observed = {entry[0]: entry[1:] for entry in moto}
    assert observed["received before the DLQ"] == (15,)  # template.yaml: maxReceiveCount 15
    assert len(observed["dead letters"][0]) == 1
    assert observed["nothing visible"] == ([],)
