"""The reconciler: Bitrix24 drops webhooks, so on a schedule it lists the deals and new invoices in trigger
stages modified since its checkpoint, and queues those the ledger has not seen since their last change.

Pages are chained inside one `batch` request (`>ID` from the previous page's last row, `start=-1` so the portal
skips counting), so a run costs a request per 500 entities, within a configured budget.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from invoice_bridge.bitrix24.client import BatchRef, Bitrix24Client
from invoice_bridge.events import SMART_INVOICE_ENTITY_TYPE_ID, EntityType, QueueMessage
from invoice_bridge.ledger import Ledger
from invoice_bridge.observability import logger, metrics

PAGE_SIZE = 50
PAGES_PER_REQUEST = 10
OVERLAP = timedelta(minutes=5)  # clocks and in-flight saves: look a little further back than the checkpoint
RECONCILER_EVENT = "RECONCILER"


@dataclass(frozen=True)
class Changed:
    entity_type: EntityType
    entity_id: int
    modified: datetime


@dataclass(frozen=True)
class _Listing:
    entity_type: EntityType
    method: str
    params: dict[str, Any]
    id_filter: str
    rows_path: tuple[str, ...]  # where the rows are in a page's result
    id_field: str
    modified_field: str


def _listings(trigger_stage_ids: tuple[str, ...], since: datetime) -> list[_Listing]:
    deal_stages = [stage for stage in trigger_stage_ids if not stage.startswith("DT31_")]
    invoice_stages = [stage for stage in trigger_stage_ids if stage.startswith("DT31_")]
    stamp = since.isoformat()
    deals = _Listing(
        EntityType.DEAL,
        "crm.deal.list",
        {
            "filter": {
                **({"@STAGE_ID": deal_stages} if deal_stages else {"STAGE_SEMANTIC_ID": "S"}),
                ">DATE_MODIFY": stamp,
            },
            "select": ["ID", "DATE_MODIFY"],
        },
        ">ID",
        (),
        "ID",
        "DATE_MODIFY",
    )
    invoices = _Listing(
        EntityType.INVOICE,
        "crm.item.list",
        {
            "entityTypeId": SMART_INVOICE_ENTITY_TYPE_ID,
            "filter": {
                **({"@stageId": invoice_stages} if invoice_stages else {"stageSemanticId": "S"}),
                ">updatedTime": stamp,
            },
            "select": ["id", "updatedTime"],
        },
        ">id",
        ("items",),
        "id",
        "updatedTime",
    )
    if trigger_stage_ids and not invoice_stages:
        return [deals]
    if trigger_stage_ids and not deal_stages:
        return [invoices]
    return [deals, invoices]


def list_changed(
    client: Bitrix24Client, trigger_stage_ids: tuple[str, ...], since: datetime, max_requests: int
) -> tuple[list[Changed], bool]:
    """Entities in trigger stages modified after `since`, and whether the listing finished within the budget."""
    found: list[Changed] = []
    budget = max_requests
    for listing in _listings(trigger_stage_ids, since):
        last_id = 0
        while True:
            if budget == 0:
                return found, False
            budget -= 1
            rows, complete = _pages(client, listing, last_id)
            found.extend(rows)
            if complete:
                break
            last_id = rows[-1].entity_id
    return found, True


def _pages(client: Bitrix24Client, listing: _Listing, after_id: int) -> tuple[list[Changed], bool]:
    commands: dict[str, tuple[str, dict[str, Any]]] = {}
    for page in range(PAGES_PER_REQUEST):
        after: int | BatchRef = (
            after_id
            if page == 0
            else BatchRef(f"page_{page - 1}", (*listing.rows_path, PAGE_SIZE - 1, listing.id_field))
        )
        params = {
            **listing.params,
            "filter": {**listing.params["filter"], listing.id_filter: after},
            "order": {listing.id_field: "ASC"},
            "start": -1,
        }
        commands[f"page_{page}"] = (listing.method, params)
    result = client.batch(commands)
    rows: list[Changed] = []
    for page in range(PAGES_PER_REQUEST):
        answer: Any = result.results.get(f"page_{page}")
        for part in listing.rows_path:
            answer = answer.get(part) if isinstance(answer, dict) else None
        if not isinstance(answer, list):
            error = result.errors.get(f"page_{page}")
            raise RuntimeError(f"listing {listing.method} failed: {error.code if error else ''} {error}")
        rows.extend(
            Changed(
                listing.entity_type,
                int(row[listing.id_field]),
                datetime.fromisoformat(str(row[listing.modified_field])),
            )
            for row in answer
        )
        if len(answer) < PAGE_SIZE:
            return rows, True
    return rows, False


@dataclass(frozen=True)
class ReconcileReport:
    portals: int
    scanned: int
    queued: int
    complete: bool


def reconcile(
    *,
    client: Bitrix24Client,
    ledger: Ledger,
    enqueue: Callable[[Iterable[QueueMessage]], None],
    trigger_stage_ids: tuple[str, ...],
    now: datetime,
    first_lookback: timedelta,
    max_requests: int,
) -> ReconcileReport:
    portals = ledger.portals()
    if not portals:
        logger.warning("no portal has sent a webhook yet: nothing to reconcile")
    scanned = queued = 0
    complete = True
    for member_id, domain in portals.items():
        since = ledger.checkpoint(member_id) or (now - first_lookback)
        changed, finished = list_changed(client, trigger_stage_ids, since - OVERLAP, max_requests)
        complete &= finished
        records = ledger.get_many(f"{member_id}#{c.entity_type.value}#{c.entity_id}" for c in changed)
        stale = [
            c
            for c in changed
            if (record := records.get(f"{member_id}#{c.entity_type.value}#{c.entity_id}")) is None
            or record.updated_at < c.modified.timestamp()
        ]
        enqueue(
            QueueMessage(
                member_id=member_id,
                domain=domain,
                entity_type=c.entity_type,
                entity_id=c.entity_id,
                event=RECONCILER_EVENT,
                ts=int(now.timestamp()),
            )
            for c in stale
        )
        if finished:
            newest = max((c.modified for c in changed), default=since)
            ledger.save_checkpoint(member_id, max(newest, since))
        scanned += len(changed)
        queued += len(stale)
    metrics.add_metric(name="ReconcilerQueued", unit="Count", value=queued)
    logger.info("reconciled", extra={"scanned": scanned, "queued": queued, "complete": complete})
    return ReconcileReport(portals=len(portals), scanned=scanned, queued=queued, complete=complete)
