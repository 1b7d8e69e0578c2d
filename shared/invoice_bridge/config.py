"""Configuration from the environment, validated once per cold start.

This module is the only place that reads environment variables; template.yaml sets them.

Plain pydantic models read the environment (`from_environment`), not pydantic-settings: its import alone took
70–100 ms of every function's cold start (its CLI, dotenv and cloud-secret sources, asyncio, argparse), for two
things done here in a few lines — names matched case-insensitively, and the comma-separated lists read as text.
Each model is built when first used (`defer_build`): a function builds its own settings, not the other three.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

_CONFIG = ConfigDict(frozen=True, extra="ignore", defer_build=True)


class _Settings(BaseModel):
    model_config = _CONFIG

    @classmethod
    def from_environment(cls) -> Self:
        """Each field from the environment variable of its name in upper case (any case is accepted), else its
        default; a value arrives as text and is validated like any other input."""
        fields = cls.model_fields
        return cls.model_validate({name.lower(): value for name, value in os.environ.items() if name.lower() in fields})

    bridge_secret_id: str = Field(min_length=1, description="Name or ARN of the Secrets Manager secret")
    secret_max_age_seconds: int = Field(default=300, ge=0)
    http_timeout_seconds: float = Field(default=10.0, gt=0, le=60)


class ReceiverSettings(_Settings):
    queue_url: str = Field(min_length=1)
    ledger_table_name: str = Field(min_length=1, description="where the first release's single portal is pinned")
    max_webhook_body_bytes: int = Field(default=16384, ge=1024, le=262144)


def _split_ids(value: object) -> object:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


class _TriggerStages(BaseModel):
    model_config = _CONFIG

    trigger_stage_ids: tuple[str, ...] = ()

    @field_validator("trigger_stage_ids", mode="before")
    @classmethod
    def _split_stage_ids(cls, value: object) -> object:
        return _split_ids(value)


class _PreflightStages(BaseModel):
    model_config = _CONFIG

    preflight_stage_ids: tuple[str, ...] = ()

    @field_validator("preflight_stage_ids", mode="before")
    @classmethod
    def _split_preflight_ids(cls, value: object) -> object:  # its own name: the settings inherit both
        return _split_ids(value)


class _MessageLanguage(BaseModel):
    # of every text managers and accountants read (comments, rejection reasons, 1C comments); logs stay English
    message_language: Literal["ru", "en"] = "ru"


class ProcessorSettings(_Settings, _TriggerStages, _PreflightStages, _MessageLanguage):
    ledger_table_name: str = Field(min_length=1)
    queue_url: str = Field(min_length=1, description="for retry backoff on the processor's own messages")
    # Retries of failed messages: base·2^(n-1) s after the n-th receive, at most retry_backoff_max_seconds,
    # plus up to 20 % jitter (retry.py); template.yaml sizes maxReceiveCount from these numbers.
    retry_backoff_seconds: int = Field(default=30, ge=1, le=900)
    retry_backoff_max_seconds: int = Field(default=3600, ge=1, le=36000)
    # Circuit breaker per Bitrix24 portal and per 1C base (breaker.py).
    breaker_failure_threshold: int = Field(default=5, ge=1, le=1000)
    breaker_open_seconds: int = Field(default=60, ge=1, le=3600)
    document_kind: Literal["buyer_invoice", "sale_and_tax_invoice"] = "buyer_invoice"
    onec_post_documents: bool = False
    onec_create_counterparties: bool = False
    onec_create_contracts: bool = False
    onec_item_code_field: Literal["Code", "Артикул"] = "Code"
    on_leaving_trigger: Literal["comment", "deletion_mark"] = "comment"
    onec_organization_inn: str = Field(default="", pattern=r"^(\d{10}|\d{12})?$")
    document_timezone: str = "Europe/Moscow"
    lease_seconds: int = Field(default=180, ge=10, description="longer than the processor's timeout")
    writeback_field: str = Field(default="", pattern=r"^(UF_CRM_[A-Z0-9_]+)?$")
    onec_catalog_cache_seconds: int = Field(default=600, ge=0)
    # batched 1C look-ups keep each URL within this (onec/batched.py: Apache 8190, IIS query string 2048 by default)
    onec_max_url_length: int = Field(default=8000, ge=1024, le=65536)
    # the 1C web client (e.g. https://1c.example.ru/buh/): comments link to the document; empty = no links
    onec_web_client_url: str = Field(default="", pattern=r"^(https?://[^\s\[\]]+)?$")

    @field_validator("document_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Moscow") from exc
        return value


class ReconcilerSettings(_Settings, _TriggerStages):
    ledger_table_name: str = Field(min_length=1)
    queue_url: str = Field(min_length=1)
    first_lookback_hours: int = Field(default=24, ge=1, le=24 * 30)
    max_bitrix24_requests: int = Field(default=20, ge=1, le=500, description="budget of one portal's sweep")
    reconciler_concurrency: int = Field(default=8, ge=1, le=32, description="portals swept at the same time")
    retry_backoff_max_seconds: int = Field(default=3600, ge=1, le=36000, description="paces the ledger sweep")


@lru_cache(maxsize=1)
def receiver_settings() -> ReceiverSettings:
    return ReceiverSettings.from_environment()


@lru_cache(maxsize=1)
def processor_settings() -> ProcessorSettings:
    return ProcessorSettings.from_environment()


@lru_cache(maxsize=1)
def reconciler_settings() -> ReconcilerSettings:
    return ReconcilerSettings.from_environment()


class StatusSyncSettings(_Settings, _MessageLanguage):
    ledger_table_name: str = Field(min_length=1)
    document_kind: Literal["buyer_invoice", "sale_and_tax_invoice"] = "buyer_invoice"
    status_sync_days: int = Field(default=90, ge=1, le=3660, description="documents older than this leave the sweep")
    # deal stages, at most one per funnel (C<n>:… for funnel n); empty = the deal's stage is not moved
    paid_stage_id: tuple[str, ...] = ()
    partly_paid_stage_id: tuple[str, ...] = ()
    move_invoice_to_paid_stage: bool = True
    stage_moves_backwards: bool = False
    paid_amount_field: str = Field(default="", pattern=r"^(UF_CRM_[A-Z0-9_]+)?$")
    paid_date_field: str = Field(default="", pattern=r"^(UF_CRM_[A-Z0-9_]+)?$")

    @field_validator("paid_stage_id", "partly_paid_stage_id", mode="before")
    @classmethod
    def _split_stages(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value


@lru_cache(maxsize=1)
def status_sync_settings() -> StatusSyncSettings:
    return StatusSyncSettings.from_environment()
