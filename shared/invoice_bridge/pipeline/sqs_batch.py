"""One SQS batch through the pipelines: every deal of the batch read from Bitrix24 at once (one read per portal,
through its breaker), the 1C look-ups prefetched, each message handled on its own, the batch's Bitrix24 writes
flushed, and Powertools' partial batch response so SQS retries only the messages that failed — each after its
backoff."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from invoice_bridge.aws import sqs_client
from invoice_bridge.bitrix24.snapshot import Snapshots
from invoice_bridge.breaker import bitrix24_upstream, onec_upstream
from invoice_bridge.config import ProcessorSettings, processor_settings
from invoice_bridge.events import QueueMessage
from invoice_bridge.observability import logger, metrics, record_log_keys
from invoice_bridge.pipeline.outcome import TransientFailure
from invoice_bridge.pipeline.read import read_through_breaker
from invoice_bridge.pipeline.wiring import breakers, current_pipelines
from invoice_bridge.queue import InvoiceQueue
from invoice_bridge.retry import SQS_MAX_DELAY_SECONDS, backoff_seconds, delay_message, retry_delay
from invoice_bridge.secret import SecretConfigurationError

RESERVED_REQUESTS = 4  # the time a message is started with: this many HTTP timeouts (processor Timeout 120 s)


class UnknownPortal(RuntimeError):
    """A message for a member_id no configured (or pinned) portal has: never processed with another's credentials."""


def process_sqs_batch(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Reads every deal of the batch from Bitrix24 at once, one batch per portal, then handles each message;
    failures are reported per message so SQS retries only those."""
    started = time.monotonic()
    settings = processor_settings()
    try:
        pipelines = current_pipelines()
    except (SecretConfigurationError, parameters.exceptions.GetParameterError) as exc:
        return _retry_whole_batch(event, settings, exc)
    store = breakers(settings)
    messages = [m for record in event.get("Records", []) if (m := _message_or_none(record.get("body", ""))) is not None]
    by_portal: dict[str, list[QueueMessage]] = {}
    for message in messages:
        by_portal.setdefault(message.member_id, []).append(message)
    snapshots: dict[str, Snapshots] = {}
    portal_open_until: dict[str, float] = {}
    for member_id, portal_messages in by_portal.items():
        pipeline = pipelines.get(member_id)
        if pipeline is None:
            logger.error(
                "message for a portal the secret does not configure; it will fail and reach the DLQ",
                extra={"member_id": member_id, "messages": len(portal_messages)},
            )
            metrics.add_metric(name="MessagesForUnknownPortal", unit="Count", value=len(portal_messages))
            continue
        # A 429 is waited out only while the invocation has time left; otherwise the message goes back to SQS.
        pipeline.bitrix.remaining_seconds = lambda: context.get_remaining_time_in_millis() / 1000
        pipeline.bitrix.request_count = 0
        pipeline.bitrix.throttled_count = 0
        pipeline.onec.request_count = 0
        pipeline.to_onec.breaker = store.breaker(onec_upstream(pipeline.onec.service_root))
        read = read_through_breaker(
            pipeline.bitrix, pipeline.caches, portal_messages, store.breaker(bitrix24_upstream(member_id))
        )
        if isinstance(read, float):
            portal_open_until[member_id] = read
            read = {}
        snapshots[member_id] = read
        if read:
            pipeline.to_onec.prefetch(portal_messages, read)
    used = [pipeline for member_id in snapshots if (pipeline := pipelines.get(member_id)) is not None]

    def handle_record(record: SQSRecord) -> str:
        message = QueueMessage.model_validate_json(record.body)
        entity = f"{message.entity_type.value} {message.entity_id}"
        with record_log_keys(portal=message.domain, entity=entity, ledger_key=message.ledger_key):
            return _handle(record, message)

    def _handle(record: SQSRecord, message: QueueMessage) -> str:
        try:
            pipeline = pipelines.get(message.member_id)
            if pipeline is None:
                raise UnknownPortal(f"no configured portal has member_id {message.member_id}")
            if message.write_back is None and (probe_at := portal_open_until.get(message.member_id)) is not None:
                raise TransientFailure("Bitrix24 is failing: circuit open, not called", not_before=probe_at)
            if message.write_back is None and context.get_remaining_time_in_millis() / 1000 < _reserve_seconds(
                settings
            ):
                raise NotStarted("not started: too little of the invocation's time is left to finish it")
            snapshot = snapshots[message.member_id].get((message.entity_type, message.entity_id))
            outcome = pipeline.process(message, snapshot, delivery_id=record.message_id)
        except Exception as failure:
            delay = _back_off(record, settings, failure)
            log = logger.warning if isinstance(failure, TransientFailure) else logger.exception
            log("will retry", extra={"error": str(failure), "retry_in_seconds": delay})
            raise
        logger.info("message handled", extra={"outcome": outcome.kind, "detail": outcome.detail})
        return outcome.kind

    try:
        response = process_partial_response(
            event=event,
            record_handler=handle_record,
            # a batch whose every message failed is reported like any other: the backoff set above holds
            processor=BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False),
            context=context,
        )
    finally:
        retry = [message for pipeline in used for message in pipeline.flush_write_backs()]
        queue = InvoiceQueue(sqs_client(), settings.queue_url)
        for attempt in sorted({m.write_back.attempt for m in retry if m.write_back is not None}):
            # the n-th attempt waits like the n-th receive of a message, within SQS's 15-minute DelaySeconds
            delay = backoff_seconds(attempt - 1, settings.retry_backoff_seconds, SQS_MAX_DELAY_SECONDS)
            queue.send_many(
                [m for m in retry if m.write_back is not None and m.write_back.attempt == attempt],
                delay_seconds=delay,
            )
    onec_requests = sum({id(p.onec): p.onec.request_count for p in used}.values())
    throttled = sum(pipeline.bitrix.throttled_count for pipeline in used)
    # the dashboard's requests per invoice and the Bitrix24 throttling alarm (template.yaml)
    metrics.add_metric(name="OnecRequests", unit="Count", value=onec_requests)
    metrics.add_metric(name="Bitrix24Throttled", unit="Count", value=throttled)
    logger.info(
        "batch done",
        extra={
            "messages": len(event.get("Records", [])),
            "portals": len(by_portal),
            "bitrix24_requests": sum(pipeline.bitrix.request_count for pipeline in used),
            "bitrix24_throttled": throttled,
            "onec_requests": onec_requests,
            "failures": len(response.get("batchItemFailures", [])),
            "seconds": round(time.monotonic() - started, 3),  # the Logs Insights query "slowest batches"
        },
    )
    return response


class NotStarted(TransientFailure):
    """A message the invocation left alone near its end: it is visible again at once, for another invocation."""


def _reserve_seconds(settings: ProcessorSettings) -> float:
    """What one message may still take at worst (a few 1C and Bitrix24 requests, each up to the HTTP timeout)
    plus the write-back flush after the last one: the processor starts no message with less time left, so an
    invocation ends within the function's Timeout instead of being killed mid-write."""
    return RESERVED_REQUESTS * settings.http_timeout_seconds


def _back_off(record: SQSRecord, settings: ProcessorSettings, failure: Exception) -> int:
    """Exponential backoff per receive (retry.py), or until the failure's `not_before` when that is later,
    instead of waiting out the queue's whole visibility timeout."""
    if isinstance(failure, NotStarted):
        delay_message(sqs_client(), settings.queue_url, record.receipt_handle, 0)
        return 0
    delay = retry_delay(
        int(record.attributes.approximate_receive_count or 1),
        settings.retry_backoff_seconds,
        settings.retry_backoff_max_seconds,
        not_before=failure.not_before if isinstance(failure, TransientFailure) else None,
    )
    delay_message(sqs_client(), settings.queue_url, record.receipt_handle, delay)
    return delay


def _retry_whole_batch(
    event: dict[str, Any], settings: ProcessorSettings, error: Exception
) -> PartialItemFailureResponse:
    """The secret is unusable or unreadable: a set-up failure, never a rejection. Every message waits its backoff and is
    retried with the secret fixed; the metric feeds the set-up alarm."""
    metrics.add_metric(name="SetupFailures", unit="Count", value=1)
    logger.error("the secret is not usable; every message waits for the administrator", extra={"error": str(error)})
    failures: PartialItemFailureResponse = {"batchItemFailures": []}
    sqs = sqs_client()
    for raw in event.get("Records", []):
        receives = int((raw.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
        delay = retry_delay(receives, settings.retry_backoff_seconds, settings.retry_backoff_max_seconds)
        delay_message(sqs, settings.queue_url, raw["receiptHandle"], delay)
        failures["batchItemFailures"].append({"itemIdentifier": raw["messageId"]})
    return failures


def _message_or_none(body: str) -> QueueMessage | None:
    try:
        return QueueMessage.model_validate_json(body)
    except ValidationError:
        logger.error("queue message is not one the receiver writes; it will fail and reach the DLQ")
        return None
