"""How long a failed message waits before SQS hands it out again.

After the n-th receive a message that failed comes back after

    delay(n) = min(retry_backoff_max_seconds, retry_backoff_seconds · 2^(n-1))

seconds, or later when something says "not before" (a circuit breaker's next probe, another worker's lease),
plus up to `JITTER` of that on top so that messages failed together do not come back together. Jitter only
lengthens a delay, so the shortest time a message can stay in the queue before the DLQ — the outage it is
guaranteed to outlast — is the sum of delay(1) … delay(maxReceiveCount - 1) (`survivable_outage_seconds`).
template.yaml sizes maxReceiveCount with that sum.

The delay is set with ChangeMessageVisibility, which counts from the receive and allows 12 hours at most.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from invoice_bridge import clock
from invoice_bridge.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

JITTER = 0.2  # a delay grows by up to 20 %, never shrinks
SQS_MAX_VISIBILITY_SECONDS = 43200  # ChangeMessageVisibility: 12 h from the receive
SQS_MAX_DELAY_SECONDS = 900  # SendMessage DelaySeconds
_VISIBILITY_MARGIN_SECONDS = 300  # the invocation has run a while since the receive


def backoff_seconds(receive_count: int, base_seconds: int, max_seconds: int) -> int:
    """The nominal delay after the `receive_count`-th receive (1 for the first)."""
    exponent = max(0, receive_count - 1)
    if exponent >= 40:  # 2^40 s outlasts any cap; avoid huge integers
        return max_seconds
    return int(min(max_seconds, base_seconds * 2**exponent))


def survivable_outage_seconds(base_seconds: int, max_seconds: int, max_receive_count: int) -> int:
    """The shortest time from a message's first receive to its last one: an outage shorter than this ends
    before the message has spent its receives, so it is not dead-lettered."""
    return sum(backoff_seconds(n, base_seconds, max_seconds) for n in range(1, max_receive_count))


def retry_delay(
    receive_count: int,
    base_seconds: int,
    max_seconds: int,
    *,
    not_before: float | None = None,
    now: float | None = None,
    rng: Callable[[], float] = random.random,
) -> int:
    """Seconds until the next receive: the backoff, or until `not_before` when that is later, plus jitter."""
    delay = float(backoff_seconds(receive_count, base_seconds, max_seconds))
    if not_before is not None:
        delay = max(delay, not_before - (clock.now() if now is None else now))
    jittered = math.ceil(delay * (1 + JITTER * rng()))
    return max(1, min(SQS_MAX_VISIBILITY_SECONDS - _VISIBILITY_MARGIN_SECONDS, jittered))


def delay_message(sqs: SQSClient, queue_url: str, receipt_handle: str, seconds: int) -> None:
    """Sets when the failed message comes back; if that fails the retry still happens, after the queue's
    visibility timeout."""
    try:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds)
    except ClientError as exc:
        logger.warning("backoff not set", extra={"error": str(exc)})
