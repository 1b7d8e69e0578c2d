"""Reading what a deal or new invoice looks like now: the entity, its product rows, the buyer's requisite and
the products' codes. An SQS batch is read in `batch` requests of 12 entities (4 commands each); product codes
not yet cached take one more.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from invoice_bridge.bitrix24.client import MAX_BATCH_COMMANDS, BatchRef, BatchResult, Bitrix24Client
from invoice_bridge.bitrix24.records import DealRecord, ProductRecord, ProductRowRecord, RequisiteRecord
from invoice_bridge.events import SMART_INVOICE_ENTITY_TYPE_ID, EntityType

COMPANY_ENTITY_TYPE_ID = 4
DEAL_ENTITY_TYPE_ID = 2
_COMMANDS_PER_ENTITY = 4
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
    """A deal or a new invoice as the bridge needs it; invoices are read into the same deal-shaped records."""

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


SourceKey = tuple[EntityType, int]
Snapshots = dict[SourceKey, DealSnapshot | SnapshotError]


def read_snapshots(client: Bitrix24Client, keys: Sequence[SourceKey], products: ProductCodeCache) -> Snapshots:
    unique = list(dict.fromkeys(keys))
    outcome: Snapshots = {}
    linked_elsewhere: dict[SourceKey, int] = {}  # a linked requisite that is not one of the company's
    per_batch = MAX_BATCH_COMMANDS // _COMMANDS_PER_ENTITY
    for start in range(0, len(unique), per_batch):
        chunk = unique[start : start + per_batch]
        commands: dict[str, tuple[str, dict[str, Any]]] = {}
        for entity_type, entity_id in chunk:
            commands.update(_commands(entity_type, entity_id))
        result = client.batch(commands)
        for key in chunk:
            snapshot = outcome[key] = _snapshot_from(*key, result)
            requisite_id = _linked_requisite_id(_names(*key), result)
            if isinstance(snapshot, DealSnapshot) and snapshot.buyer is None and requisite_id:
                linked_elsewhere[key] = requisite_id
    _attach_linked_requisites(client, outcome, linked_elsewhere)
    _attach_product_codes(client, [s for s in outcome.values() if isinstance(s, DealSnapshot)], products)
    return outcome


def read_deal_snapshots(
    client: Bitrix24Client, deal_ids: Sequence[int], products: ProductCodeCache
) -> dict[int, DealSnapshot | SnapshotError]:
    snapshots = read_snapshots(client, [(EntityType.DEAL, deal_id) for deal_id in deal_ids], products)
    return {entity_id: snapshot for (_, entity_id), snapshot in snapshots.items()}


@dataclass(frozen=True)
class _CommandNames:
    main: str
    rows: str
    link: str
    company_requisites: str


def _names(entity_type: EntityType, entity_id: int) -> _CommandNames:
    prefix = "" if entity_type is EntityType.DEAL else "invoice_"
    main = "deal" if entity_type is EntityType.DEAL else "invoice"
    return _CommandNames(
        main=f"{main}_{entity_id}",
        rows=f"{prefix}rows_{entity_id}",
        link=f"{prefix}link_{entity_id}",
        company_requisites=f"{prefix}company_rq_{entity_id}",
    )


def _commands(entity_type: EntityType, entity_id: int) -> dict[str, tuple[str, dict[str, Any]]]:
    names = _names(entity_type, entity_id)
    if entity_type is EntityType.DEAL:
        main: tuple[str, dict[str, Any]] = ("crm.deal.get", {"id": entity_id})
        rows: tuple[str, dict[str, Any]] = ("crm.deal.productrows.get", {"id": entity_id})
        company = BatchRef(names.main, ("COMPANY_ID",))
        type_id = DEAL_ENTITY_TYPE_ID
    else:
        main = ("crm.item.get", {"entityTypeId": SMART_INVOICE_ENTITY_TYPE_ID, "id": entity_id})
        rows = ("crm.item.productrow.list", {"filter": {"=ownerType": "SI", "=ownerId": entity_id}})
        company = BatchRef(names.main, ("item", "companyId"))
        type_id = SMART_INVOICE_ENTITY_TYPE_ID
    return {
        names.main: main,
        names.rows: rows,
        names.link: ("crm.requisite.link.get", {"entityTypeId": type_id, "entityId": entity_id}),
        names.company_requisites: (
            "crm.requisite.list",
            {"filter": {"ENTITY_TYPE_ID": COMPANY_ENTITY_TYPE_ID, "ENTITY_ID": company}, "order": {"ID": "ASC"}},
        ),
    }


def _linked_requisite_id(names: _CommandNames, result: BatchResult) -> int:
    link = result.results.get(names.link)
    raw = link.get("REQUISITE_ID") if isinstance(link, dict) else None
    try:
        return max(0, int(raw)) if raw is not None else 0
    except (TypeError, ValueError):
        return 0


def _attach_linked_requisites(client: Bitrix24Client, outcome: Snapshots, linked: dict[SourceKey, int]) -> None:
    """The rare deal whose chosen requisite is not its company's (a contact's, say) costs one more request."""
    requisite_ids = sorted(set(linked.values()))
    for start in range(0, len(requisite_ids), MAX_BATCH_COMMANDS):
        chunk = requisite_ids[start : start + MAX_BATCH_COMMANDS]
        result = client.batch({f"rq_{rid}": ("crm.requisite.get", {"id": rid}) for rid in chunk})
        for key, requisite_id in linked.items():
            found = result.results.get(f"rq_{requisite_id}")
            snapshot = outcome[key]
            if isinstance(found, dict) and found and isinstance(snapshot, DealSnapshot):
                outcome[key] = replace(
                    snapshot,
                    buyer=RequisiteRecord.model_validate(found),
                    buyer_source=f"the requisite selected in the {key[0].value}",
                )


def _snapshot_from(entity_type: EntityType, entity_id: int, result: BatchResult) -> DealSnapshot | SnapshotError:
    names = _names(entity_type, entity_id)
    label = f"{entity_type.value} {entity_id}"
    # A missing requisite link is normal (none chosen): the company's first requisite is used.
    for key, what in ((names.main, "itself"), (names.rows, "product rows"), (names.company_requisites, "requisites")):
        error = result.errors.get(key)
        if error is not None or key not in result.results:
            description = error.description if error else "no answer"
            transient = error is not None and error.code.upper() in TRANSIENT_COMMAND_ERRORS
            code = error.code if error else ""
            return SnapshotError(f"{label}: Bitrix24 could not read {what}: {code} {description}", transient=transient)
    try:
        record, rows = _records(entity_type, result.results[names.main], result.results.get(names.rows))
        buyer, source = _buyer(entity_type, record, names, result)
    except (ValidationError, KeyError, TypeError) as exc:
        return SnapshotError(f"{label}: Bitrix24 answered in an unexpected shape: {exc}", transient=False)
    return DealSnapshot(deal=record, rows=rows, buyer=buyer, buyer_source=source)


def _records(entity_type: EntityType, main: Any, rows: Any) -> tuple[DealRecord, tuple[ProductRowRecord, ...]]:
    if entity_type is EntityType.DEAL:
        return DealRecord.model_validate(main), tuple(ProductRowRecord.model_validate(row) for row in rows or [])
    item = DealRecord.model_validate(_renamed(main["item"], _INVOICE_FIELDS))
    product_rows = (rows.get("productRows") or []) if isinstance(rows, dict) else []
    return item, tuple(ProductRowRecord.model_validate(_renamed(row, _ROW_FIELDS)) for row in product_rows)


# crm.item.* speaks camelCase; the bridge reads invoices into the deal-shaped records
_INVOICE_FIELDS = {
    "id": "ID",
    "title": "TITLE",
    "stageId": "STAGE_ID",
    "stageSemanticId": "STAGE_SEMANTIC_ID",
    "categoryId": "CATEGORY_ID",
    "currencyId": "CURRENCY_ID",
    "opportunity": "OPPORTUNITY",
    "isManualOpportunity": "IS_MANUAL_OPPORTUNITY",
    "taxValue": "TAX_VALUE",
    "companyId": "COMPANY_ID",
    "updatedTime": "DATE_MODIFY",
}
_ROW_FIELDS = {
    "id": "ID",
    "productId": "PRODUCT_ID",
    "productName": "PRODUCT_NAME",
    "price": "PRICE",
    "priceExclusive": "PRICE_EXCLUSIVE",
    "quantity": "QUANTITY",
    "taxRate": "TAX_RATE",
    "taxIncluded": "TAX_INCLUDED",
    "discountRate": "DISCOUNT_RATE",
    "measureName": "MEASURE_NAME",
    "sort": "SORT",
}


def _renamed(raw: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {names[key]: value for key, value in raw.items() if key in names}


def _buyer(
    entity_type: EntityType, record: DealRecord, names: _CommandNames, result: BatchResult
) -> tuple[RequisiteRecord | None, str]:
    company_requisites = [
        RequisiteRecord.model_validate(row) for row in result.results.get(names.company_requisites) or []
    ]
    linked_id = _linked_requisite_id(names, result)
    if linked_id:
        by_id = {requisite.ID: requisite for requisite in company_requisites}
        return by_id.get(linked_id), f"the requisite selected in the {entity_type.value}"
    if record.COMPANY_ID and company_requisites:
        return company_requisites[0], f"the first requisite of company {record.COMPANY_ID}"
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
