"""Putting work on the SQS queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoice_bridge.events import QueueMessage

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class InvoiceQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, message: QueueMessage) -> None:
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=message.model_dump_json(),
            MessageAttributes={"ledger_key": {"DataType": "String", "StringValue": message.ledger_key}},
        )
