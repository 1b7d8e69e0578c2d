"""Reading what a deal looks like now: deal, product rows, the buyer's requisite and the products' codes.

Every deal of an SQS batch is read in one `batch` request; product codes not yet cached take one more.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from invoice_bridge.bitrix24.client import MAX_BATCH_COMMANDS, BatchRef, BatchResult, Bitrix24Client
from invoice_bridge.bitrix24.records import DealRecord, ProductRecord, ProductRowRecord, RequisiteRecord

COMPANY_ENTITY_TYPE_ID = 4
DEAL_ENTITY_TYPE_ID = 2
_COMMANDS_PER_DEAL = 4
# A command inside a batch that failed for one of these reasons may succeed later.
TRANSIENT_COMMAND_ERRORS = frozenset(
    {
        "OPERATION_TIME_LIMIT",
        "QUERY_LIMIT_EXCEEDED",
        "INTERNAL_SERVER_ERROR",
        "ERROR_UNEXPECTED_ANSWER",
        "OVERLOAD_LIMIT",
    }
)


class SnapshotError(RuntimeError):
    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class DealSnapshot:
    deal: DealRecord
    rows: tuple[ProductRowRecord, ...]
    buyer: RequisiteRecord | None
    buyer_source: str  # where the buyer's requisite came from, for messages
    product_codes: dict[int, str | None] = field(default_factory=dict)  # product id → external code (xmlId)


@dataclass
class ProductCodeCache:
    """Product external codes survive between invocations of a warm function."""

    ttl_seconds: float
    _entries: dict[int, tuple[float, str | None]] = field(default_factory=dict)

    def get_many(self, product_ids: Iterable[int]) -> tuple[dict[int, str | None], set[int]]:
        now = time.monotonic()
        found: dict[int, str | None] = {}
        missing: set[int] = set()
        for product_id in product_ids:
            entry = self._entries.get(product_id)
            if entry is not None and entry[0] > now:
                found[product_id] = entry[1]
            else:
                missing.add(product_id)
        return found, missing

    def put(self, product_id: int, code: str | None) -> None:
        self._entries[product_id] = (time.monotonic() + self.ttl_seconds, code)


def read_deal_snapshots(
    client: Bitrix24Client, deal_ids: Sequence[int], products: ProductCodeCache
) -> dict[int, DealSnapshot | SnapshotError]:
    unique_ids = list(dict.fromkeys(deal_ids))
    outcome: dict[int, DealSnapshot | SnapshotError] = {}
    linked_elsewhere: dict[int, int] = {}  # deal → a linked requisite that is not one of its company's
    per_batch = MAX_BATCH_COMMANDS // _COMMANDS_PER_DEAL
    for start in range(0, len(unique_ids), per_batch):
        chunk = unique_ids[start : start + per_batch]
        commands: dict[str, tuple[str, dict[str, Any]]] = {}
        for deal_id in chunk:
            commands.update(_deal_commands(deal_id))
        result = client.batch(commands)
        for deal_id in chunk:
            snapshot = outcome[deal_id] = _snapshot_from(deal_id, result)
            requisite_id = _linked_requisite_id(deal_id, result)
            if isinstance(snapshot, DealSnapshot) and snapshot.buyer is None and requisite_id:
                linked_elsewhere[deal_id] = requisite_id
    _attach_linked_requisites(client, outcome, linked_elsewhere)
    _attach_product_codes(client, [s for s in outcome.values() if isinstance(s, DealSnapshot)], products)
    return outcome


def _deal_commands(deal_id: int) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        f"deal_{deal_id}": ("crm.deal.get", {"id": deal_id}),
        f"rows_{deal_id}": ("crm.deal.productrows.get", {"id": deal_id}),
        f"link_{deal_id}": ("crm.requisite.link.get", {"entityTypeId": DEAL_ENTITY_TYPE_ID, "entityId": deal_id}),
        f"company_rq_{deal_id}": (
            "crm.requisite.list",
            {
                "filter": {
                    "ENTITY_TYPE_ID": COMPANY_ENTITY_TYPE_ID,
                    "ENTITY_ID": BatchRef(f"deal_{deal_id}", ("COMPANY_ID",)),
                },
                "order": {"ID": "ASC"},
            },
        ),
    }


def _linked_requisite_id(deal_id: int, result: BatchResult) -> int:
    link = result.results.get(f"link_{deal_id}")
    raw = link.get("REQUISITE_ID") if isinstance(link, dict) else None
    try:
        return max(0, int(raw)) if raw is not None else 0
    except (TypeError, ValueError):
        return 0


def _attach_linked_requisites(
    client: Bitrix24Client, outcome: dict[int, DealSnapshot | SnapshotError], linked: dict[int, int]
) -> None:
    """The rare deal whose chosen requisite is not its company's (a contact's, say) costs one more request."""
    requisite_ids = sorted(set(linked.values()))
    for start in range(0, len(requisite_ids), MAX_BATCH_COMMANDS):
        chunk = requisite_ids[start : start + MAX_BATCH_COMMANDS]
        result = client.batch({f"rq_{rid}": ("crm.requisite.get", {"id": rid}) for rid in chunk})
        for deal_id, requisite_id in linked.items():
            found = result.results.get(f"rq_{requisite_id}")
            snapshot = outcome[deal_id]
            if isinstance(found, dict) and found and isinstance(snapshot, DealSnapshot):
                outcome[deal_id] = replace(
                    snapshot,
                    buyer=RequisiteRecord.model_validate(found),
                    buyer_source="the requisite selected in the deal",
                )


def _snapshot_from(deal_id: int, result: BatchResult) -> DealSnapshot | SnapshotError:
    # A missing requisite link is normal (no requisite chosen in the deal): the company's first one is used.
    for key in (f"deal_{deal_id}", f"rows_{deal_id}", f"company_rq_{deal_id}"):
        error = result.errors.get(key)
        if error is not None or key not in result.results:
            description = error.description if error else "no answer"
            transient = error is not None and error.code.upper() in TRANSIENT_COMMAND_ERRORS
            what = key.rsplit("_", 1)[0].replace("_", " ")
            return SnapshotError(
                f"deal {deal_id}: Bitrix24 could not read its {what}: {error.code if error else ''} {description}",
                transient=transient,
            )
    try:
        deal = DealRecord.model_validate(result.results[f"deal_{deal_id}"])
        rows_raw = result.results.get(f"rows_{deal_id}") or []
        rows = tuple(ProductRowRecord.model_validate(row) for row in rows_raw)
        buyer, source = _buyer(deal, result)
    except ValidationError as exc:
        return SnapshotError(f"deal {deal_id}: Bitrix24 answered in an unexpected shape: {exc}", transient=False)
    return DealSnapshot(deal=deal, rows=rows, buyer=buyer, buyer_source=source)


def _buyer(deal: DealRecord, result: BatchResult) -> tuple[RequisiteRecord | None, str]:
    company_requisites = [
        RequisiteRecord.model_validate(row) for row in result.results.get(f"company_rq_{deal.ID}") or []
    ]
    linked_id = _linked_requisite_id(deal.ID, result)
    if linked_id:
        by_id = {requisite.ID: requisite for requisite in company_requisites}
        return by_id.get(linked_id), "the requisite selected in the deal"
    if deal.COMPANY_ID and company_requisites:
        return company_requisites[0], f"the first requisite of company {deal.COMPANY_ID}"
    return None, "nowhere"


def _attach_product_codes(client: Bitrix24Client, snapshots: list[DealSnapshot], products: ProductCodeCache) -> None:
    wanted = {row.PRODUCT_ID for snapshot in snapshots for row in snapshot.rows if row.PRODUCT_ID}
    codes, missing = products.get_many(wanted)
    missing_ids = sorted(missing)
    for start in range(0, len(missing_ids), MAX_BATCH_COMMANDS):
        chunk = missing_ids[start : start + MAX_BATCH_COMMANDS]
        result = client.batch({f"product_{pid}": ("catalog.product.get", {"id": pid}) for pid in chunk})
        for product_id in chunk:
            answer = result.results.get(f"product_{product_id}")
            product = answer.get("product") if isinstance(answer, dict) else None
            code = ProductRecord.model_validate(product).xmlId if isinstance(product, dict) else None
            products.put(product_id, code or None)
            codes[product_id] = code or None
    for snapshot in snapshots:
        snapshot.product_codes.update({row.PRODUCT_ID: codes.get(row.PRODUCT_ID) for row in snapshot.rows})
