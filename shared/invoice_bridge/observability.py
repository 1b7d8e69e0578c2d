"""The one place Logger, Tracer and Metrics are made; service name and namespace come from POWERTOOLS_* env.

Logs never carry a credential, at any level:
- the AWS SDK's and the HTTP library's own loggers are capped at WARNING (`protect_logs`). With LogLevel=DEBUG,
  Lambda sets the root logger to DEBUG, and botocore would then print GetSecretValue's whole answer and urllib3
  every request line, whose path holds the Bitrix24 webhook code;
- every line the bridge's logger writes goes through `RedactingFormatter`, which masks each value registered from
  the secret (tokens, webhook URLs and codes, passwords, the Basic auth header), in messages, extra keys and
  tracebacks alike.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

if TYPE_CHECKING:
    from aws_lambda_powertools.logging.types import LogRecord

MASK = "***"
# Shorter values are not masked: they would blank out ordinary text and are no credential worth the name.
MIN_SECRET_LENGTH = 4
# Loggers of libraries that log requests or answers at DEBUG/INFO.
LIBRARY_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3", "requests")

_secrets: tuple[str, ...] = ()  # longest first, so a URL is masked whole before the code inside it
_secrets_lock = threading.Lock()


def register_secrets(values: Iterable[str]) -> None:
    """Adds credentials to mask from now on (the set only grows: an old value may still sit in a cache)."""
    global _secrets
    wanted = {value for value in values if len(value) >= MIN_SECRET_LENGTH}
    # the same value as it appears inside a JSON string: quotes and backslashes escaped, non-ASCII as is or escaped
    wanted |= {json.dumps(value, ensure_ascii=ascii)[1:-1] for value in wanted for ascii in (True, False)}
    with _secrets_lock:
        _secrets = tuple(sorted(wanted.union(_secrets), key=len, reverse=True))


def redact(text: str) -> str:
    for value in _secrets:
        if value in text:
            text = text.replace(value, MASK)
    return text


class RedactingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: LogRecord) -> str:
        return redact(super().serialize(log))


def protect_logs() -> None:
    """Caps the libraries' loggers; idempotent, called before the secret is first read."""
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        if library.getEffectiveLevel() < logging.WARNING:
            library.setLevel(logging.WARNING)


logger = Logger(logger_formatter=RedactingFormatter())
metrics = Metrics()


RECORD_KEYS = ("portal", "entity", "ledger_key")


@contextmanager
def record_log_keys(*, portal: str, entity: str, ledger_key: str) -> Iterator[None]:
    """Every line logged while one queue record is handled names its portal, entity and ledger key, and none of
    them outlives the record: not into the next record of the batch, nor into the warm function's next
    invocation (the handlers also clear the logger's state on each invocation: `clear_state=True`)."""
    logger.append_keys(portal=portal, entity=entity, ledger_key=ledger_key)
    try:
        yield
    finally:
        logger.remove_keys(list(RECORD_KEYS))


_tracer: Tracer | None = None


def __getattr__(name: str) -> Tracer:
    """`tracer` is made when a function first imports it: making it loads the X-Ray SDK (~0.3 s of a cold start),
    which the receiver does not use."""
    global _tracer
    if name != "tracer":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _tracer is None:
        _tracer = Tracer()
    return _tracer
