"""The ledger sweep: deals the ledger holds unfinished — IN_PROGRESS past their lease (the worker died between
its 1C call and its ledger write) or RETRYING longer than any retry waits (the message was lost or
dead-lettered) — are queued again.

The reconciler's Bitrix24 sweep cannot see them: the ledger was written after the deal's last change. They are
found through the sparse index SWEEP_INDEX (only unfinished items carry its keys), never by scanning the table.
Each queued item's sweep time moves on by `interval_seconds` with a conditional write, so two runs do not both
queue it and a deal that stays stuck is queued again once per interval, not once per run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from invoice_bridge import clock
from invoice_bridge.events import EntityType, QueueMessage
from invoice_bridge.ledger.deals import Ledger
from invoice_bridge.ledger.records import LedgerStatus
from invoice_bridge.observability import logger, metrics

SWEEP_EVENT = "LEDGER_SWEEP"
MAX_ITEMS_PER_RUN = 500


def sweep_stuck(
    ledger: Ledger,
    enqueue: Callable[[Iterable[QueueMessage]], None],
    *,
    domains: Mapping[str, str],
    interval_seconds: int,
    limit: int = MAX_ITEMS_PER_RUN,
) -> int:
    """Queues the deals stuck unfinished of the configured portals (`domains`: member_id → domain, from the
    secret or the pin, never from the ledger); returns how many."""
    now = clock.now()
    messages: list[QueueMessage] = []
    for record in ledger.due_for_sweep(now, limit):
        if record.status not in (LedgerStatus.IN_PROGRESS, LedgerStatus.RETRYING):
            continue
        member_id, _, rest = record.pk.partition("#")
        kind, _, entity_id = rest.partition("#")
        if kind not in EntityType.__members__.values() or not entity_id.isdigit():
            continue
        domain = domains.get(member_id)
        if domain is None:
            logger.warning("stuck ledger item of a portal not configured left alone", extra={"ledger_key": record.pk})
            continue
        if not ledger.postpone_sweep(record, until=now + interval_seconds):
            continue  # it moved on since the query: not stuck
        messages.append(
            QueueMessage(
                member_id=member_id,
                domain=domain,
                entity_type=EntityType(kind),
                entity_id=int(entity_id),
                event=SWEEP_EVENT,
                ts=int(now),
            )
        )
        logger.warning("stuck ledger item queued again", extra={"ledger_key": record.pk, "status": record.status})
    if messages:
        enqueue(messages)
    metrics.add_metric(name="LedgerSweepQueued", unit="Count", value=len(messages))
    return len(messages)
