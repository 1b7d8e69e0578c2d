"""The webhook receiver's logic: check the sender, keep the events we handle, enqueue. No REST calls."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from invoice_bridge.events import BitrixWebhook, QueueMessage, entity_type_of
from invoice_bridge.formdata import FormDecodeError, parse_php_form
from invoice_bridge.observability import logger
from invoice_bridge.portals import Portal, select_portal


@dataclass(frozen=True)
class ReceiverReply:
    status_code: int
    body: dict[str, Any] = field(default_factory=dict)


def receive_event_body(
    body: str,
    *,
    base64_encoded: bool,
    portals: Callable[[], Sequence[Portal]],
    pin: Callable[[Portal, str, str], Portal],
    enqueue: Callable[[QueueMessage], None],
    max_body_bytes: int,
) -> ReceiverReply:
    """The body as API Gateway hands it over: text, or base64 when `isBase64Encoded` says so."""
    if not base64_encoded:
        raw = body.encode("utf-8")
    elif len(body) > 4 * (max_body_bytes // 3 + 1):  # too large before decoding anything
        return ReceiverReply(413, {"error": f"body is over the limit of {max_body_bytes} bytes"})
    else:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return ReceiverReply(400, {"error": "isBase64Encoded is true but the body is not valid base64"})
    return receive_webhook(raw, portals=portals, pin=pin, enqueue=enqueue, max_body_bytes=max_body_bytes)


def receive_webhook(
    body: bytes,
    *,
    portals: Callable[[], Sequence[Portal]],
    pin: Callable[[Portal, str, str], Portal],
    enqueue: Callable[[QueueMessage], None],
    max_body_bytes: int,
) -> ReceiverReply:
    """`portals` are the configured ones; `pin` pins the first release's single portal to an event's identity
    (and answers the pin in force when another event won)."""
    if len(body) > max_body_bytes:
        return ReceiverReply(413, {"error": f"body is {len(body)} bytes; the limit is {max_body_bytes}"})
    try:
        form = parse_php_form(body.decode("utf-8"))
    except (UnicodeDecodeError, FormDecodeError) as exc:
        reason = str(exc) if isinstance(exc, FormDecodeError) else "body is not UTF-8"
        return ReceiverReply(400, {"error": f"expected application/x-www-form-urlencoded: {reason}"})

    auth = form.get("auth")
    given_token = auth.get("application_token", "") if isinstance(auth, dict) else ""
    portal = select_portal(given_token, portals()) if isinstance(given_token, str) else None
    if portal is None:
        logger.warning("webhook rejected: unknown application token", extra={"event": str(form.get("event"))})
        return ReceiverReply(401, {"error": "auth[application_token] does not match a configured token"})

    try:
        webhook = BitrixWebhook.model_validate(form)
    except ValidationError as exc:
        fields = sorted({_form_key(error["loc"]) for error in exc.errors()})
        return ReceiverReply(
            400,
            {
                "error": f"webhook is missing or has malformed fields: {', '.join(fields)}; expected event, "
                "data[FIELDS][ID], ts, auth[domain] and auth[member_id] as Bitrix24 sends them"
            },
        )

    if portal.awaiting_pin:
        portal = pin(portal, webhook.auth.member_id, webhook.auth.domain)
    for name, sent, expected in (
        ("auth[member_id]", webhook.auth.member_id, portal.member_id),
        ("auth[domain]", webhook.auth.domain.lower(), portal.domain),
    ):
        if sent != expected:
            logger.warning(
                "webhook rejected: the token belongs to another portal",
                # the sent value is an identifier, not a credential: it shows a new portal's member_id (README)
                extra={"field": name, "sent": sent, "portal": portal.name, "member_id": portal.member_id},
            )
            return ReceiverReply(
                403, {"error": f"{name} is not the portal this application token belongs to; nothing was queued"}
            )

    entity_type = entity_type_of(webhook)
    if entity_type is None:
        logger.info(
            "event ignored: not one the bridge handles",
            extra={"event": webhook.event, "entity_type_id": webhook.data.FIELDS.ENTITY_TYPE_ID},
        )
        return ReceiverReply(200, {"status": "ignored", "event": webhook.event})

    message = QueueMessage(
        member_id=portal.member_id,  # the portal the token authenticated, never the body's claim
        domain=portal.domain,
        entity_type=entity_type,
        entity_id=webhook.data.FIELDS.ID,
        event=webhook.event.upper(),
        ts=webhook.ts,
    )
    enqueue(message)
    logger.info("event queued", extra={"ledger_key": message.ledger_key, "event": message.event})
    return ReceiverReply(200, {"status": "queued", "entity": message.entity_type.value, "id": message.entity_id})


def _form_key(location: tuple[int | str, ...]) -> str:
    """('data', 'FIELDS', 'ID') → data[FIELDS][ID], the way the field is named in the body."""
    head, *rest = [str(part) for part in location] or ["(body)"]
    return head + "".join(f"[{part}]" for part in rest)
