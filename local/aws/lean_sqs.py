"""A small in-memory SQS (standard queues) of the operations the bridge and the local event source use, for
`make bench` (local.aws.lean_server): CreateQueue, GetQueueUrl, GetQueueAttributes, SendMessage(Batch),
ReceiveMessage (long polls, visibility timeouts, delays, receive counts, the redrive to the dead-letter queue once
a message has been received maxReceiveCount times), DeleteMessage(Batch), ChangeMessageVisibility, PurgeQueue.

Messages are handed out in the order they were sent, as moto does; a receipt handle stays good for its message
after a later receive, and deleting a deleted message again succeeds (moto's behaviour, and SQS's documented
leniency). tests/local/aws/test_lean_parity.py runs the same requests against moto and this and asserts
identical answers.
"""

from __future__ import annotations

import hashlib
import json
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.aws.lean_dynamodb import REGION_ACCOUNT, ServiceError

ACCOUNT = "123456789012"
_COUNTS = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed")


@dataclass
class _Message:
    id: str
    body: str
    attributes: dict[str, dict[str, Any]]
    sent_at: float  # unix seconds
    visible_at: float
    receive_count: int = 0
    first_received_at: float = 0.0
    handles: list[str] = field(default_factory=list)


@dataclass
class _Queue:
    name: str
    url: str
    attributes: dict[str, str]
    created_at: float
    messages: dict[str, _Message] = field(default_factory=dict)  # by id, in the order sent
    handles: dict[str, str] = field(default_factory=dict)  # every receipt handle ever given → message id
    deleted: set[str] = field(default_factory=set)

    @property
    def arn(self) -> str:
        return f"arn:aws:sqs:{REGION_ACCOUNT}:{self.name}"

    def number(self, name: str, default: int) -> int:
        return int(self.attributes.get(name, default))


class LeanSqs:
    def __init__(self, base_url: str = "http://127.0.0.1", clock: Callable[[], float] = time.time) -> None:
        self.base_url = base_url
        self._clock = clock
        self._queues: dict[str, _Queue] = {}  # by URL
        self._condition = threading.Condition()
        self.calls: dict[str, int] = {}

    def handle(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        method: Callable[[dict[str, Any]], dict[str, Any]] | None = getattr(self, f"_op_{operation}", None)
        if method is None:
            raise ServiceError("UnsupportedOperation", f"the lean local SQS has no {operation}")
        with self._condition:
            self.calls[operation] = self.calls.get(operation, 0) + 1
            return method(request)

    def _queue(self, url: str) -> _Queue:
        queue = self._queues.get(url) or next((q for q in self._queues.values() if url.endswith(f"/{q.name}")), None)
        if queue is None:
            raise ServiceError("QueueDoesNotExist", "The specified queue does not exist.")
        return queue

    # ---- queues ----------------------------------------------------------------------------------------

    def _op_CreateQueue(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["QueueName"]
        attributes = {key: str(value) for key, value in (request.get("Attributes") or {}).items()}
        url = f"{self.base_url}/{ACCOUNT}/{name}"
        existing = self._queues.get(url)
        if existing is not None:
            if any(existing.attributes.get(key) != value for key, value in attributes.items()):
                raise ServiceError("QueueAlreadyExists", f"A queue already exists with the same name: {name}")
            return {"QueueUrl": url}
        if "RedrivePolicy" in attributes:
            policy = json.loads(attributes["RedrivePolicy"])
            policy["maxReceiveCount"] = int(policy["maxReceiveCount"])
            if not any(queue.arn == policy["deadLetterTargetArn"] for queue in self._queues.values()):
                raise ServiceError("InvalidParameterValue", "Could not find DLQ for " + policy["deadLetterTargetArn"])
            attributes["RedrivePolicy"] = json.dumps(policy)
        self._queues[url] = _Queue(name, url, attributes, self._clock())
        return {"QueueUrl": url}

    def _op_GetQueueUrl(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"QueueUrl": self._queue(f"/{request['QueueName']}").url}

    def _op_GetQueueAttributes(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self._queue(request["QueueUrl"])
        now = self._clock()
        visible = in_flight = delayed = 0
        for message in queue.messages.values():
            if message.visible_at <= now:
                visible += 1
            elif message.receive_count:
                in_flight += 1
            else:
                delayed += 1
        known: dict[str, str] = {
            "QueueArn": queue.arn,
            "ApproximateNumberOfMessages": str(visible),
            "ApproximateNumberOfMessagesNotVisible": str(in_flight),
            "ApproximateNumberOfMessagesDelayed": str(delayed),
            "CreatedTimestamp": str(int(queue.created_at)),
            "LastModifiedTimestamp": str(int(queue.created_at)),
            "VisibilityTimeout": str(queue.number("VisibilityTimeout", 30)),
            "MessageRetentionPeriod": str(queue.number("MessageRetentionPeriod", 345600)),
            "DelaySeconds": str(queue.number("DelaySeconds", 0)),
            "ReceiveMessageWaitTimeSeconds": str(queue.number("ReceiveMessageWaitTimeSeconds", 0)),
            "MaximumMessageSize": str(queue.number("MaximumMessageSize", 262144)),
            **({"RedrivePolicy": queue.attributes["RedrivePolicy"]} if "RedrivePolicy" in queue.attributes else {}),
        }
        wanted = request.get("AttributeNames") or []
        chosen = known if "All" in wanted else {name: known[name] for name in wanted if name in known}
        return {"Attributes": chosen} if chosen else {}

    def _op_PurgeQueue(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self._queue(request["QueueUrl"])
        queue.messages.clear()
        return {}

    # ---- messages --------------------------------------------------------------------------------------

    def _send(self, queue: _Queue, entry: dict[str, Any]) -> dict[str, Any]:
        body = entry["MessageBody"]
        attributes = entry.get("MessageAttributes") or {}
        delay = int(entry.get("DelaySeconds", queue.number("DelaySeconds", 0)))
        now = self._clock()
        message = _Message(str(uuid.uuid4()), body, attributes, now, now + delay)
        queue.messages[message.id] = message
        self._condition.notify_all()
        answer = {"MessageId": message.id, "MD5OfMessageBody": hashlib.md5(body.encode()).hexdigest()}  # noqa: S324 - SQS's checksum
        if attributes:
            answer["MD5OfMessageAttributes"] = attributes_md5(attributes)
        return answer

    def _op_SendMessage(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._send(self._queue(request["QueueUrl"]), request)

    def _op_SendMessageBatch(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self._queue(request["QueueUrl"])
        return {
            "Successful": [{"Id": entry["Id"], **self._send(queue, entry)} for entry in request["Entries"]],
            "Failed": [],
        }

    def _op_ReceiveMessage(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self._queue(request["QueueUrl"])
        count = int(request.get("MaxNumberOfMessages", 1))
        wait = int(request.get("WaitTimeSeconds", queue.number("ReceiveMessageWaitTimeSeconds", 0)))
        visibility = int(request.get("VisibilityTimeout", queue.number("VisibilityTimeout", 30)))
        deadline = time.monotonic() + wait
        while True:
            taken = self._take(queue, count, visibility)
            remaining = deadline - time.monotonic()
            if taken or remaining <= 0:
                break
            self._condition.wait(min(remaining, 0.05))  # sends wake it; visibility and delays end on their own
        system = set(request.get("AttributeNames") or []) | set(request.get("MessageSystemAttributeNames") or [])
        names = set(request.get("MessageAttributeNames") or [])
        messages = [self._describe(message, handle, system, names) for message, handle in taken]
        return {"Messages": messages} if messages else {}

    def _take(self, queue: _Queue, count: int, visibility: int) -> list[tuple[_Message, str]]:
        now = self._clock()
        policy = json.loads(queue.attributes["RedrivePolicy"]) if "RedrivePolicy" in queue.attributes else None
        taken: list[tuple[_Message, str]] = []
        for message in list(queue.messages.values()):
            if message.visible_at > now:
                continue
            if policy is not None and message.receive_count >= policy["maxReceiveCount"]:
                del queue.messages[message.id]
                dead = next(q for q in self._queues.values() if q.arn == policy["deadLetterTargetArn"])
                dead.messages[message.id] = message
                continue
            message.receive_count += 1
            message.first_received_at = message.first_received_at or now
            message.visible_at = now + visibility
            handle = uuid.uuid4().hex + uuid.uuid4().hex
            message.handles.append(handle)
            queue.handles[handle] = message.id
            taken.append((message, handle))
            if len(taken) >= count:
                break
        return taken

    @staticmethod
    def _describe(message: _Message, handle: str, system: set[str], names: set[str]) -> dict[str, Any]:
        system_values = {
            "SenderId": ACCOUNT,
            "SentTimestamp": str(int(message.sent_at * 1000)),
            "ApproximateReceiveCount": str(message.receive_count),
            "ApproximateFirstReceiveTimestamp": str(int(message.first_received_at * 1000)),
        }
        described: dict[str, Any] = {
            "MessageId": message.id,
            "ReceiptHandle": handle,
            "MD5OfBody": hashlib.md5(message.body.encode()).hexdigest(),  # noqa: S324 - SQS's checksum
            "Body": message.body,
        }
        chosen = system_values if "All" in system else {k: v for k, v in system_values.items() if k in system}
        if chosen:
            described["Attributes"] = chosen
        wanted = (
            message.attributes
            if ("All" in names or ".*" in names)
            else {k: v for k, v in message.attributes.items() if k in names}
        )
        if wanted:
            described["MessageAttributes"] = wanted
            described["MD5OfMessageAttributes"] = attributes_md5(wanted)
        return described

    def _delete(self, queue: _Queue, handle: str) -> None:
        if handle in queue.deleted:
            return
        message_id = queue.handles.get(handle)
        if message_id is None or message_id not in queue.messages:
            raise ServiceError(
                "ReceiptHandleIsInvalid", f'The input receipt handle "{handle}" is not a valid receipt handle.'
            )
        message = queue.messages.pop(message_id)
        queue.deleted.update(message.handles)

    def _op_DeleteMessage(self, request: dict[str, Any]) -> dict[str, Any]:
        self._delete(self._queue(request["QueueUrl"]), request["ReceiptHandle"])
        return {}

    def _op_DeleteMessageBatch(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self._queue(request["QueueUrl"])
        successful, failed = [], []
        for entry in request["Entries"]:
            try:
                self._delete(queue, entry["ReceiptHandle"])
                successful.append({"Id": entry["Id"]})
            except ServiceError as exc:
                failed.append({"Id": entry["Id"], "SenderFault": True, "Code": exc.code, "Message": exc.message})
        return {"Successful": successful, "Failed": failed}

    def _op_ChangeMessageVisibility(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self._queue(request["QueueUrl"])
        message = queue.messages.get(queue.handles.get(request["ReceiptHandle"], ""))
        if message is None:
            raise ServiceError("ReceiptHandleIsInvalid", "The input receipt handle is not a valid receipt handle.")
        seconds = int(request["VisibilityTimeout"])
        now = self._clock()
        if now + seconds - message.sent_at > 43200:
            raise ServiceError(
                "InvalidParameterValue",
                f"Value {seconds} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for "
                "the message is beyond the limit [43200 seconds]",
            )
        message.visible_at = now + seconds
        if seconds == 0:
            self._condition.notify_all()
        return {}


def attributes_md5(attributes: dict[str, dict[str, Any]]) -> str:
    """SQS's MD5 of message attributes: for each attribute by name, the length-prefixed name, data type and value
    (with a transport byte: 1 string, 2 binary), as the SQS developer guide describes it."""
    digest = hashlib.md5()  # noqa: S324 - SQS's checksum
    for name in sorted(attributes):
        attribute = attributes[name]
        data_type = attribute["DataType"]
        for part in (name.encode(), data_type.encode()):
            digest.update(struct.pack("!I", len(part)) + part)
        if "StringValue" in attribute:
            value = str(attribute["StringValue"]).encode()
            digest.update(b"\x01" + struct.pack("!I", len(value)) + value)
        else:
            raw = attribute["BinaryValue"]
            value = raw.encode() if isinstance(raw, str) else raw
            digest.update(b"\x02" + struct.pack("!I", len(value)) + value)
    return digest.hexdigest()
