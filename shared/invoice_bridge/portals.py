"""Which portal: the tenants the secret configures, and the pin of the first release's single portal.

A portal is known only from what the bridge controls: an outgoing-webhook token selects it, and the event's
`auth[member_id]` and `auth[domain]` must then be that portal's. The first release's secret names no member_id or
domain: its one portal is pinned by the first accepted event, a conditional write in the ledger table that no
later event can change (README, 'The pin').
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

from pydantic import SecretStr

from invoice_bridge.ledger.portal_pin import PortalPin, PortalPinStore
from invoice_bridge.observability import logger
from invoice_bridge.secret import BridgeSecret, OnecConnection

SINGLE_PORTAL = "the single portal"


@dataclass(frozen=True)
class Portal:
    name: str  # where it is configured: "portals[0]", or SINGLE_PORTAL for the first release's form
    member_id: str  # "" while the single portal awaits its pin
    domain: str
    webhook_url: str
    application_tokens: tuple[SecretStr, ...]
    onec: OnecConnection
    pinned: bool = False  # member_id and domain come from the pin, not from the secret

    @property
    def awaiting_pin(self) -> bool:
        return self.pinned and not self.member_id


def configured_portals(secret: BridgeSecret, pin: PortalPin | None) -> tuple[Portal, ...]:
    """Every portal of the secret; the single portal of the first release carries its pin, if it has one."""
    if secret.bitrix24_webhook_url and secret.bitrix24_application_tokens:  # the secret holds one form or the other
        return (
            Portal(
                name=SINGLE_PORTAL,
                member_id=pin.member_id if pin else "",
                domain=pin.domain if pin else "",
                webhook_url=secret.bitrix24_webhook_url,
                application_tokens=secret.bitrix24_application_tokens,
                onec=secret.shared_onec,
                pinned=True,
            ),
        )
    return tuple(
        Portal(
            name=f"portals[{index}]",
            member_id=entry.member_id,
            domain=entry.domain.lower(),
            webhook_url=entry.webhook_url,
            application_tokens=entry.application_tokens,
            onec=entry.onec or secret.shared_onec,
        )
        for index, entry in enumerate(secret.portals)
    )


def select_portal(given: str, portals: Sequence[Portal]) -> Portal | None:
    """The portal whose token this is. Constant time: every token of every portal is compared, whatever
    matched earlier, so the answer's timing tells nothing about which tokens exist."""
    given_bytes = given.encode()
    chosen: Portal | None = None
    for portal in portals:
        for token in portal.application_tokens:
            if hmac.compare_digest(given_bytes, token.get_secret_value().encode()) and chosen is None:
                chosen = portal
    return chosen if given else None


# A pin never changes once written, so a warm function keeps it instead of reading the ledger per event.
_pins: dict[str, PortalPin] = {}
_pins_lock = threading.Lock()


def current_pin(pins: PortalPinStore) -> PortalPin | None:
    with _pins_lock:
        cached = _pins.get(pins.table_name)
    if cached is not None:
        return cached
    pin = pins.portal_pin()
    if pin is not None:
        with _pins_lock:
            _pins[pins.table_name] = pin
    return pin


def pin_portal(pins: PortalPinStore, portal: Portal, member_id: str, domain: str) -> Portal:
    """Pins the single portal to the first accepted event's member_id and domain. When another event won the
    race, its pin is the one in force and is returned instead."""
    pin, written = pins.pin_portal(member_id, domain.lower())
    if written:
        logger.warning(
            "single portal pinned by its first accepted event",
            extra={"member_id": pin.member_id, "domain": pin.domain},
        )
    with _pins_lock:
        _pins[pins.table_name] = pin
    return replace(portal, member_id=pin.member_id, domain=pin.domain)


def forget_pins() -> None:
    """For tests and the local stack: what a new execution environment would not know."""
    with _pins_lock:
        _pins.clear()
