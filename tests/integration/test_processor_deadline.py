"""Through the real handler: the processor starts no message it may not finish within the function's Timeout;
such a message is visible again at once and the next invocation handles it."""

from __future__ import annotations

import requests

from local.aws.lambda_runtime import SqsEventSource, load_handler
from local.stack import LocalStack
from local.webhooks import FORM_HEADERS, webhook_body


def test_a_message_is_not_started_without_the_time_to_finish_it(stack: LocalStack) -> None:
    assert requests.post(stack.webhook_url, data=webhook_body(1001), headers=FORM_HEADERS, timeout=10).ok
    assert stack.resources is not None
    short = SqsEventSource(
        stack.sqs,
        stack.resources.queue_url,
        load_handler("invoice_processor"),
        batch_size=10,
        function_timeout_seconds=30,  # less than the reserve of 4 HTTP timeouts (40 s)
    )
    assert short.poll_once(wait_seconds=1) == 1
    assert stack.onec.documents() == []
    assert stack.queued_messages() == 1

    assert stack.event_source.poll_once(wait_seconds=1) == 1  # back at once, and the full Timeout handles it
    assert len(stack.onec.documents()) == 1
    assert stack.queued_messages() == 0
