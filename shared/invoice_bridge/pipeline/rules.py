"""The processor's settings as the pipeline's steps use them (built from `ProcessorSettings` in `wiring`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from invoice_bridge.messages import Language


@dataclass(frozen=True)
class ProcessorRules:
    trigger_stage_ids: tuple[str, ...]
    organization_inn: str
    lease_seconds: int
    writeback_field: str = ""  # a deal UF field that receives the 1C document number
    post_documents: bool = False  # post what is created instead of leaving drafts for review
    on_leaving_trigger: Literal["comment", "deletion_mark"] = "comment"  # what an unposted draft gets
    sweep_after_seconds: int = 7200  # a deal left RETRYING this long is queued again by the ledger sweep
    language: Language = Language.RU  # of every text managers and accountants read
    onec_web_client_url: str = ""  # comments link to the document in the 1C web client when set
    preflight_stage_ids: tuple[str, ...] = ()  # stages before the trigger where the deal is checked, nothing written
