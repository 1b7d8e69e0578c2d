"""Putting work on the SQS queue."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from invoice_bridge.events import QueueMessage
from invoice_bridge.retry import SQS_MAX_DELAY_SECONDS

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class InvoiceQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send_many(self, messages: Iterable[QueueMessage], *, delay_seconds: int = 0) -> None:
        """`delay_seconds` holds every message back that long (SQS allows 900 s at most per message)."""
        delay = max(0, min(SQS_MAX_DELAY_SECONDS, delay_seconds))
        pending = list(messages)
        for start in range(0, len(pending), 10):  # SendMessageBatch's limit
            chunk = pending[start : start + 10]
            answer = self._client.send_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(index), "MessageBody": message.model_dump_json(), "DelaySeconds": delay}
                    for index, message in enumerate(chunk)
                ],
            )
            if answer.get("Failed"):
                failed = ", ".join(f"{f['Id']}: {f.get('Message', f['Code'])}" for f in answer["Failed"])
                raise RuntimeError(f"SQS refused {len(answer['Failed'])} messages: {failed}")

    def send(self, message: QueueMessage) -> None:
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=message.model_dump_json(),
            MessageAttributes={"ledger_key": {"DataType": "String", "StringValue": message.ledger_key}},
        )
