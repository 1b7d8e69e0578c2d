"""Credentials registered from the secret never reach a log line, even inside a traceback or an extra key."""

from __future__ import annotations

import io
import json
import logging
import uuid

import requests
from aws_lambda_powertools import Logger

from invoice_bridge.observability import LIBRARY_LOGGERS, MASK, RedactingFormatter, protect_logs, register_secrets
from invoice_bridge.secret import credentials_in

WEBHOOK = "https://acme.bitrix24.ru/rest/7/k3yc0de9x/"


def bridge_logger(stream: io.StringIO) -> Logger:
    """A logger of its own per test: Powertools configures a service's logger once per process."""
    return Logger(service=f"redaction-{uuid.uuid4().hex}", stream=stream, logger_formatter=RedactingFormatter())


def test_a_traceback_with_the_webhook_url_is_masked() -> None:
    register_secrets(credentials_in({"bitrix24_webhook_url": WEBHOOK}))
    stream = io.StringIO()
    log = bridge_logger(stream)
    try:
        raise requests.ConnectionError(f"Max retries exceeded with url: {WEBHOOK}batch")
    except requests.ConnectionError:
        log.exception("Bitrix24 unreachable", extra={"url": WEBHOOK + "crm.deal.get"})
    line = json.loads(stream.getvalue())
    assert "k3yc0de9x" not in stream.getvalue()
    assert MASK in line["exception"]
    assert line["url"] == MASK + "/crm.deal.get"


def test_a_password_with_quotes_is_masked_in_its_json_spelling() -> None:
    password = 'p"ass\\wörd'
    register_secrets(credentials_in({"onec_username": "odata", "onec_password": password}))
    stream = io.StringIO()
    bridge_logger(stream).info("oops", extra={"detail": f"login odata/{password}"})
    assert json.loads(stream.getvalue())["detail"] == f"login odata/{MASK}"


def test_every_credential_of_a_multi_portal_secret_is_found() -> None:
    found = credentials_in(
        {
            "portals": [
                {"webhook_url": WEBHOOK, "application_tokens": ["tok-a-1", "tok-a-2"], "onec": {"password": "pw-a"}}
            ],
            "onec_username": "u",
            "onec_password": "pw-top",
        }
    )
    assert {"tok-a-1", "tok-a-2", "pw-a", "pw-top", "k3yc0de9x", WEBHOOK.rstrip("/")} <= found
    assert "dTpwdy10b3A=" in found  # Basic auth of u:pw-top


def test_library_loggers_are_capped_at_warning() -> None:
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    protect_logs()
    assert all(logging.getLogger(name).getEffectiveLevel() >= logging.WARNING for name in LIBRARY_LOGGERS)
    assert logging.getLogger("botocore.parsers").getEffectiveLevel() >= logging.WARNING
