"""Webhook bodies as a sandbox portal's outgoing webhook would send them (portal A unless told)."""

from __future__ import annotations

from urllib.parse import urlencode

from local.seed import APPLICATION_TOKEN, PORTAL_DOMAIN, PORTAL_MEMBER_ID

FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def webhook_body(
    entity_id: int,
    *,
    event: str = "ONCRMDEALUPDATE",
    token: str = APPLICATION_TOKEN,
    entity_type_id: int | None = None,
    ts: int = 1795428000,
    member_id: str = PORTAL_MEMBER_ID,
    domain: str = PORTAL_DOMAIN,
) -> bytes:
    fields = {
        "event": event,
        "event_handler_id": "41",
        "data[FIELDS][ID]": str(entity_id),
        **({"data[FIELDS][ENTITY_TYPE_ID]": str(entity_type_id)} if entity_type_id is not None else {}),
        "ts": str(ts),
        "auth[domain]": domain,
        "auth[member_id]": member_id,
        "auth[application_token]": token,
    }
    return urlencode(fields).encode()
