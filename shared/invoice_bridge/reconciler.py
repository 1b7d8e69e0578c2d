"""The reconciler: Bitrix24 drops webhooks, so on a schedule it lists the deals and new invoices in trigger
stages modified since its checkpoint, and queues those the ledger has not seen since their last change.

It sweeps exactly the portals the secret configures (or the pinned single portal of the first release's form),
never one learned from an event, each with its own checkpoint item in the ledger and its own Bitrix24 client.
Pages are chained inside one `batch` request (`>ID` from the previous page's last row, `start=-1` so the portal
skips counting); after a short page the chain's reference is unresolved and the portal substitutes the deepest
value it has, so pages past the first short one are ignored.

Cost. Per portal and run: one Bitrix24 `batch` request per listing and 500 entities changed since the checkpoint,
so 2 requests for a quiet portal (deals and new invoices; 1 when TriggerStageIds names only deal stages or only
invoice stages), capped by MAX_BITRIX24_REQUESTS; in DynamoDB one BatchGetItem for the changed entities' records and
one UpdateItem for the checkpoint; one SQS SendMessageBatch per 10 entities queued. Per run: one BatchGetItem per
100 portals for the checkpoints. Portals are swept RECONCILER_CONCURRENCY at a time, least recently swept first;
a portal is started only while the Lambda context leaves room for its requests, and one that is not reached goes
first next run. 100 quiet portals take 200 Bitrix24 requests, spread over 100 separate rate budgets.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from invoice_bridge.bitrix24.client import BatchRef, Bitrix24Client
from invoice_bridge.events import SMART_INVOICE_ENTITY_TYPE_ID, EntityType, QueueMessage
from invoice_bridge.ledger.checkpoints import CheckpointStore
from invoice_bridge.ledger.deals import Ledger
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
    last_id = after_id
    for page in range(PAGES_PER_REQUEST):
        answer: Any = result.results.get(f"page_{page}")
        for part in listing.rows_path:
            answer = answer.get(part) if isinstance(answer, dict) else None
        if not isinstance(answer, list):
            error = result.errors.get(f"page_{page}")
            raise RuntimeError(f"listing {listing.method} failed: {error.code if error else ''} {error}")
        # A page chained to a short page gets an unresolved `$result[page_k][49][id]`, which the portal turns
        # into the deepest value it can resolve (the whole page), so it may list again from the start: only the
        # pages up to the first short one count, and only rows past the previous page's last ID.
        page_rows = [
            Changed(
                listing.entity_type,
                int(row[listing.id_field]),
                datetime.fromisoformat(str(row[listing.modified_field])),
            )
            for row in answer
        ]
        rows.extend(row for row in page_rows if row.entity_id > last_id)
        last_id = max((row.entity_id for row in page_rows), default=last_id)
        if len(answer) < PAGE_SIZE:
            return rows, True
    return rows, False


@dataclass(frozen=True)
class SweptPortal:
    """A configured (or pinned) portal to sweep, with its own Bitrix24 client and so its own rate budget."""

    member_id: str
    domain: str
    client: Bitrix24Client


@dataclass(frozen=True)
class ReconcileReport:
    portals: int  # configured or pinned
    swept: int
    deferred: int  # not reached before the deadline: they have the oldest checkpoints, so they go first next run
    failed: int  # a portal that could not be listed (it is retried next run; the others are not held up)
    scanned: int
    queued: int
    bitrix24_requests: int
    complete: bool


@dataclass(frozen=True)
class _Swept:
    scanned: int
    queued: int
    requests: int
    finished: bool


def reconcile(
    *,
    portals: Sequence[SweptPortal],
    ledger: Ledger,
    checkpoint_store: CheckpointStore,
    enqueue: Callable[[Iterable[QueueMessage]], None],
    trigger_stage_ids: tuple[str, ...],
    now: datetime,
    first_lookback: timedelta,
    max_requests: int,
    remaining_seconds: Callable[[], float],
    concurrency: int,
    reserve_seconds: float,
) -> ReconcileReport:
    """Sweeps each portal, `concurrency` at a time, oldest checkpoint first. A portal is started only while more
    than `reserve_seconds` (room for its requests to finish) remain; the rest wait for the next run."""
    if not portals:
        logger.warning("no portal to reconcile: the single portal is pinned by its first accepted event")
    checkpoints = checkpoint_store.checkpoints(p.member_id for p in portals)
    never = now - first_lookback
    # Least recently swept first (never swept before all), so a portal the deadline left out goes first next run.
    ordered = sorted(portals, key=lambda p: c.swept_at if (c := checkpoints.get(p.member_id)) else -1)

    def sweep(portal: SweptPortal) -> _Swept | None:
        if remaining_seconds() <= reserve_seconds:
            return None
        portal.client.remaining_seconds = lambda: remaining_seconds() - reserve_seconds / 2
        checkpoint = checkpoints.get(portal.member_id)
        since = checkpoint.since if checkpoint else never
        return _sweep_portal(portal, ledger, checkpoint_store, enqueue, trigger_stage_ids, now, since, max_requests)

    swept: list[_Swept] = []
    deferred = failed = 0
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="reconcile") as pool:
        futures = {pool.submit(sweep, portal): portal for portal in ordered}  # FIFO: oldest checkpoint first
        for future, portal in futures.items():
            try:
                result = future.result()
            except Exception as exc:  # one portal's outage never stops the others' sweeps
                failed += 1
                logger.error(
                    "portal not reconciled; it is tried again next run",
                    extra={"member_id": portal.member_id, "error": f"{type(exc).__name__}: {exc}"},
                )
                continue
            if result is None:
                deferred += 1
            else:
                swept.append(result)
    if deferred:
        logger.warning("portals left for the next run: the deadline came first", extra={"deferred": deferred})
    report = ReconcileReport(
        portals=len(portals),
        swept=len(swept),
        deferred=deferred,
        failed=failed,
        scanned=sum(s.scanned for s in swept),
        queued=sum(s.queued for s in swept),
        bitrix24_requests=sum(s.requests for s in swept),
        complete=not deferred and not failed and all(s.finished for s in swept),
    )
    metrics.add_metric(name="ReconcilerQueued", unit="Count", value=report.queued)
    metrics.add_metric(name="ReconcilerPortalsDeferred", unit="Count", value=deferred + failed)
    logger.info("reconciled", extra=dataclasses.asdict(report))
    return report


def _sweep_portal(
    portal: SweptPortal,
    ledger: Ledger,
    checkpoint_store: CheckpointStore,
    enqueue: Callable[[Iterable[QueueMessage]], None],
    trigger_stage_ids: tuple[str, ...],
    now: datetime,
    since: datetime,
    max_requests: int,
) -> _Swept:
    member_id = portal.member_id
    before = portal.client.request_count
    changed, finished = list_changed(portal.client, trigger_stage_ids, since - OVERLAP, max_requests)
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
            domain=portal.domain,
            entity_type=c.entity_type,
            entity_id=c.entity_id,
            event=RECONCILER_EVENT,
            ts=int(now.timestamp()),
        )
        for c in stale
    )
    if finished:
        newest = max((c.modified for c in changed), default=since)
        checkpoint_store.save_checkpoint(member_id, max(newest, since))
    return _Swept(len(changed), len(stale), portal.client.request_count - before, finished)
