"""Step 1, read: the batch's deals (and new invoices) from Bitrix24, several per request, when the portal's
circuit breaker admits a call. Every later step decides on these snapshots; nothing is read again per message."""

from __future__ import annotations

from collections.abc import Sequence

from invoice_bridge.bitrix24.client import Bitrix24Client
from invoice_bridge.bitrix24.snapshot import SnapshotCaches, SnapshotError, Snapshots, read_snapshots
from invoice_bridge.breaker import Breaker
from invoice_bridge.events import QueueMessage
from invoice_bridge.observability import metrics


def read_deals(bitrix: Bitrix24Client, caches: SnapshotCaches, messages: Sequence[QueueMessage]) -> Snapshots:
    keys = [(m.entity_type, m.entity_id) for m in messages if m.write_back is None]
    if not keys:
        return {}
    try:
        return read_snapshots(bitrix, keys, caches)  # a failed request fails only what it carried
    finally:
        # a count, not a log key: a key appended here would stay on every later line of the warm function
        metrics.add_metric(name="Bitrix24Requests", unit="Count", value=bitrix.request_count)


def read_through_breaker(
    bitrix: Bitrix24Client, caches: SnapshotCaches, messages: Sequence[QueueMessage], breaker: Breaker
) -> Snapshots | float:
    """Reads one portal's deals when its breaker admits a call, else returns the time of its next probe. A read
    with no usable answer at all counts as the portal's failure, any answer as its success."""
    deals = [m for m in messages if m.write_back is None]
    if not deals:
        return {}
    if (probe_at := breaker.admit()) is not None:
        return probe_at
    snapshots = read_deals(bitrix, caches, deals)
    answers = [a for m in deals if (a := snapshots.get((m.entity_type, m.entity_id))) is not None]
    if any(not (isinstance(a, SnapshotError) and a.transient) for a in answers):
        breaker.succeeded()
    elif answers:
        breaker.failed()
    return snapshots
