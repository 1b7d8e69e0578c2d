"""One status-sync sweep: per portal, the open documents from the ledger, their state from 1C, and each
transition told to Bitrix24 once.

Order per document: tell Bitrix24, then record what was told (a conditional write on what was read). A sweep
that dies in between tells that transition again on the next sweep; two sweeps never run at once (the function's
reserved concurrency is 1) and the conditional write keeps an overlap from recording twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from invoice_bridge.bitrix24.client import Bitrix24Client, Bitrix24Error
from invoice_bridge.events import EntityType
from invoice_bridge.messages import Language, render
from invoice_bridge.observability import logger, metrics
from invoice_bridge.onec.client import ODataClient, ODataError
from invoice_bridge.status_sync.bitrix_actions import StageRules, Tell, plan_stages, send
from invoice_bridge.status_sync.comment import status_comment
from invoice_bridge.status_sync.onec_reader import CHUNK, read_states
from invoice_bridge.status_sync.open_documents import OpenDocument, OpenDocuments
from invoice_bridge.status_sync.state import DocumentState, StageGoal, Told, Transition, transition


@dataclass(frozen=True)
class SyncedPortal:
    member_id: str
    domain: str
    bitrix: Bitrix24Client
    onec: ODataClient


@dataclass
class SyncReport:
    portals: int = 0
    open_documents: int = 0
    changed: int = 0  # documents with something to tell
    told: int = 0  # of them, recorded as told
    closed: int = 0  # left the sweep (paid in full, cancelled, deleted)
    onec_requests: int = 0
    onec_request_bound: int = 0  # 3·⌈open documents / 40⌉ + 1 per 1C base read
    bitrix24_requests: int = 0
    bitrix24_writes: int = 0
    bitrix24_request_bound: int = 0  # ⌈writes / 50⌉ + 1 per portal
    failed_portals: list[str] = field(default_factory=list)
    skipped_portals: list[str] = field(default_factory=list)  # no time left in this invocation

    @property
    def within_bounds(self) -> bool:
        return self.onec_requests <= self.onec_request_bound and self.bitrix24_requests <= self.bitrix24_request_bound


def sweep(
    portals: Sequence[SyncedPortal],
    store: OpenDocuments,
    *,
    profile: str,
    rules: StageRules,
    since: int,
    remaining_seconds: Callable[[], float],
    reserve_seconds: float,
    language: Language,
) -> SyncReport:
    report = SyncReport()
    for portal in portals:
        if remaining_seconds() < reserve_seconds:
            report.skipped_portals.append(portal.domain)
            continue
        report.portals += 1
        try:
            _sync_portal(portal, store, profile=profile, rules=rules, since=since, language=language, report=report)
        except (ODataError, Bitrix24Error) as exc:
            report.failed_portals.append(portal.domain)
            metrics.add_metric(name="StatusSyncFailures", unit="Count", value=1)
            logger.error("status sync of a portal failed", extra={"domain": portal.domain, "error": str(exc)})
    metrics.add_metric(name="StatusSyncOpenDocuments", unit="Count", value=report.open_documents)
    metrics.add_metric(name="StatusSyncTransitionsTold", unit="Count", value=report.told)
    metrics.add_metric(name="StatusSync1CRequests", unit="Count", value=report.onec_requests)
    metrics.add_metric(name="StatusSyncBitrix24Requests", unit="Count", value=report.bitrix24_requests)
    logger.info("status sync summary", extra={"report": report.__dict__, "within_bounds": report.within_bounds})
    return report


def _sync_portal(
    portal: SyncedPortal,
    store: OpenDocuments,
    *,
    profile: str,
    rules: StageRules,
    since: int,
    language: Language,
    report: SyncReport,
) -> None:
    documents = store.of_portal(portal.member_id, since=since)
    report.open_documents += len(documents)
    if not documents:
        return
    known = {receipt for document in documents for receipt, _ in document.told.payments}
    outcome = read_states(portal.onec, profile, [d.ref for d in documents], known_receipts=known)
    report.onec_requests += outcome.requests
    report.onec_request_bound += 3 * math.ceil(len(documents) / CHUNK) + 1
    pending: list[tuple[OpenDocument, Transition, Tell | None]] = []
    for document in documents:
        state = outcome.states.get(document.ref, DocumentState(ref=document.ref, found=False))
        change = transition(document.told, state, allow_backwards=rules.allow_backwards)
        if change.changed:
            tell = Tell(
                entity_type=document.entity_type,
                entity_id=document.entity_id,
                comment=(
                    render(status_comment(profile, state, change, number=document.number), language)
                    if change.events
                    else ""
                ),
                goal=change.stage_goal,
                fields=_user_fields(document, state, change, rules),
                category=document.category,
            )
            pending.append((document, change, tell))
        elif change.final or change.told != document.told:
            pending.append((document, change, None))  # nothing to tell: only the ledger changes
    tells = [tell for _, _, tell in pending if tell is not None]
    report.changed += len(tells)
    requests = plan_stages(portal.bitrix, tells, rules) if tells else 0
    requests += send(portal.bitrix, tells) if tells else 0
    writes = sum(bool(t.comment) + t.has_update for t in tells)
    report.bitrix24_requests += requests
    report.bitrix24_writes += writes
    report.bitrix24_request_bound += math.ceil(writes / 50) + 1
    for document, change, maybe_tell in pending:
        told, close = _what_was_told(document.told, change, maybe_tell)
        category = maybe_tell.category if maybe_tell is not None else None
        if told == document.told and not close and category in (None, document.category):
            continue
        if store.record(document, told, close=close, category=category):
            report.told += maybe_tell is not None
            report.closed += close
        else:
            logger.warning("status of a document recorded by another sweep", extra={"ledger_key": document.key})


def _what_was_told(old: Told, change: Transition, tell: Tell | None) -> tuple[Told, bool]:
    """The ledger's new `sync_told` after the writes, and whether the document leaves the sweep."""
    if tell is None:
        return change.told, change.final
    told = change.told if tell.comment_ok else old
    stage_done = tell.stage_decided and tell.update_ok
    stage = change.told.stage if stage_done or tell.goal is StageGoal.NONE else old.stage
    told = Told(
        posted=told.posted,
        payments=told.payments,
        cancelled=told.cancelled,
        deleted=told.deleted,
        tax_invoice=told.tax_invoice,
        stage=stage,
    )
    return told, change.final and tell.comment_ok and (stage_done or tell.goal is StageGoal.NONE)


def _user_fields(
    document: OpenDocument, state: DocumentState, change: Transition, rules: StageRules
) -> dict[str, Any] | None:
    if document.entity_type is not EntityType.DEAL or not (change.new_payments or change.cancelled_payments):
        return None
    fields: dict[str, Any] = {}
    if rules.paid_amount_field:
        fields[rules.paid_amount_field] = str(state.paid)
    if rules.paid_date_field:
        fields[rules.paid_date_field] = max((p.date for p in state.payments), default="")[:10]
    return fields or None
