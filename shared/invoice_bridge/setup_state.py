"""The receiver's answer while the bridge is not set up: the secret still holds the deploy's placeholders, is
not valid, or cannot be read.

Bitrix24 does not resend a webhook whatever the answer, so the reply only has to be honest and clear (503: the
service is not available yet, nothing was queued). The cause goes to the log once per cold start — not once per
webhook, which would flood the log of a busy portal — and every refused webhook counts towards the
SetupFailures metric that the set-up alarm watches. The deals won in the meantime are not lost: the reconciler
queues every deal modified since its last run once the secret is right.
"""

from __future__ import annotations

import threading

from invoice_bridge.observability import logger, metrics
from invoice_bridge.receiver import ReceiverReply

SETUP_UNFINISHED_BODY = {
    "error": "invoice-bridge is not set up yet: its secret is missing, invalid or still holds the deploy's "
    "placeholders; nothing was queued. The administrator is alerted; once the secret is right, the "
    "reconciler picks up the deals changed meanwhile.",
}

_logged_causes: set[str] = set()
_lock = threading.Lock()


def setup_unfinished(cause: Exception) -> ReceiverReply:
    metrics.add_metric(name="SetupFailures", unit="Count", value=1)
    text = f"{type(cause).__name__}: {cause}"  # SecretConfigurationError never holds a secret's value
    with _lock:
        first = text not in _logged_causes
        _logged_causes.add(text)
    if first:
        logger.error(
            "the secret is not usable: webhooks are answered 503 until it is fixed (logged once per cold start)",
            extra={"error": text},
        )
    return ReceiverReply(503, dict(SETUP_UNFINISHED_BODY))


def forget_logged_causes() -> None:
    """What a new execution environment would not remember (local stack and tests)."""
    with _lock:
        _logged_causes.clear()
