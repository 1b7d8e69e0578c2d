"""The whole flow at DEBUG, as Lambda runs it with LogLevel=DEBUG, and not one secret value in the output.

Lambda's advanced logging controls set the root logger to the function's level, so the AWS SDK's and the HTTP
library's own DEBUG lines (GetSecretValue's answer, request paths with the webhook code) go out too unless the
bridge caps them. The test captures both the Powertools logger (stdout) and the root logger.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import requests
from aws_lambda_powertools.logging.filters import SuppressFilter

from invoice_bridge.observability import LIBRARY_LOGGERS, logger
from invoice_bridge.secret import credentials_in
from local.stack import LocalStack
from local.webhooks import FORM_HEADERS, webhook_body


@contextmanager
def lambda_root_logger_at_debug() -> Iterator[io.StringIO]:
    """What the Lambda runtime does at DEBUG: a root handler that prints every record. The libraries' loggers
    start as a new execution environment has them, so only the bridge's own capping can quiet them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    # as in Lambda, where the runtime's handler exists before Powertools adds this filter to it
    handler.addFilter(SuppressFilter(logger.service))
    bridge_handler = logger.logger_handler
    assert isinstance(bridge_handler, logging.StreamHandler)
    saved_stream = bridge_handler.setStream(stream)  # the bridge's JSON lines, stdout in Lambda
    root = logging.getLogger()
    saved_level = root.level
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
        bridge_handler.setStream(saved_stream)


def test_the_whole_flow_at_debug_logs_no_secret() -> None:
    stack = LocalStack(log_level="DEBUG").start(poll=False)
    try:
        assert stack.resources is not None
        secret = boto3.client("secretsmanager").get_secret_value(SecretId=stack.resources.secret_id)
        secrets = credentials_in(json.loads(secret["SecretString"]))

        def post(body: bytes) -> int:
            return requests.post(stack.webhook_url, data=body, headers=FORM_HEADERS, timeout=10).status_code

        with lambda_root_logger_at_debug() as root_log:
            assert post(webhook_body(1001)) == 200
            assert post(webhook_body(1005)) == 200  # rejected: a comment goes back to Bitrix24
            assert post(webhook_body(1002, token="not-the-token")) == 401
            stack.bitrix.fail_next(1, status=500, error="INTERNAL_SERVER_ERROR", description="down")
            stack.onec.fail_next(1, status=500)
            for _ in range(10):
                stack.event_source.poll_once(wait_seconds=0)
            assert post(webhook_body(1003)) == 200
            for _ in range(10):
                stack.event_source.poll_once(wait_seconds=0)
            stack.run_reconciler()
        assert stack.onec.documents(), "the flow must have reached 1C for the search to mean anything"
    finally:
        stack.stop()

    output = root_log.getvalue()
    assert '"message":"event queued"' in output, "the bridge's own lines are captured"
    assert "moto" in output, "DEBUG lines of other libraries are captured"
    assert len(secrets) >= 5  # token, webhook URL and code, password, Basic auth header
    leaks = [line for line in output.splitlines() if any(value in line for value in secrets)]
    assert leaks == [], "secret values appear in the logs"
