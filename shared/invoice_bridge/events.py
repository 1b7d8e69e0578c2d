"""Webhook events from Bitrix24 and the message the receiver puts on the queue."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SMART_INVOICE_ENTITY_TYPE_ID = 31


class EntityType(StrEnum):
    DEAL = "deal"
    INVOICE = "invoice"  # new invoices, entityTypeId 31


# The webhook's models are built when the receiver first validates one (defer_build): the processor, the
# reconciler and the status sync import this module for QueueMessage and never read a webhook.
_WEBHOOK = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class WebhookAuth(BaseModel):
    model_config = _WEBHOOK

    domain: str = Field(min_length=1, max_length=255)
    member_id: str = Field(min_length=1, max_length=64)
    application_token: str = Field(default="", max_length=256)


class WebhookFields(BaseModel):
    model_config = _WEBHOOK

    ID: int = Field(gt=0)
    ENTITY_TYPE_ID: int | None = None


class WebhookData(BaseModel):
    model_config = _WEBHOOK

    FIELDS: WebhookFields


class BitrixWebhook(BaseModel):
    """An outgoing-webhook call as Bitrix24 sends it (all values arrive as strings)."""

    model_config = _WEBHOOK

    event: str = Field(min_length=1, max_length=100)
    data: WebhookData
    ts: int = Field(ge=0)
    auth: WebhookAuth


HANDLED_DEAL_EVENTS = frozenset({"ONCRMDEALADD", "ONCRMDEALUPDATE"})
HANDLED_ITEM_EVENTS = frozenset({"ONCRMDYNAMICITEMADD", "ONCRMDYNAMICITEMUPDATE"})


def entity_type_of(webhook: BitrixWebhook) -> EntityType | None:
    """Which of our entities the event is about, or None for events the bridge does not handle."""
    event = webhook.event.upper()
    if event in HANDLED_DEAL_EVENTS:
        return EntityType.DEAL
    if event in HANDLED_ITEM_EVENTS and webhook.data.FIELDS.ENTITY_TYPE_ID == SMART_INVOICE_ENTITY_TYPE_ID:
        return EntityType.INVOICE
    return None


class WriteBack(BaseModel):
    """A Bitrix24 write that failed for a passing reason and is retried on its own (the outcome is recorded)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["crm.timeline.comment.add", "crm.deal.update"]
    params: dict[str, Any]
    attempt: int = Field(default=1, ge=1)


class QueueMessage(BaseModel):
    """What the processor needs to re-read an entity: the event is only a hint that it changed. A message
    with `write_back` only carries a Bitrix24 write to repeat."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    member_id: str
    domain: str
    entity_type: EntityType
    entity_id: int = Field(gt=0)
    event: str
    ts: int
    write_back: WriteBack | None = None

    @property
    def ledger_key(self) -> str:
        return f"{self.member_id}#{self.entity_type.value}#{self.entity_id}"

    @property
    def external_key(self) -> str:
        return external_key(self.member_id, self.entity_type, self.entity_id)


def external_key(member_id: str, entity_type: EntityType, entity_id: int) -> str:
    """What the 1C document keeps in its comment to be found again: portal, entity type and id."""
    return f"b24:{member_id}:{entity_type.value}:{entity_id}"
