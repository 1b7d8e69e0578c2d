"""Reading what a deal or new invoice looks like now: the entity, its product rows, the buyer's and the
seller's requisites and the products' codes. An SQS batch is read in `batch` requests of 12 entities
(4 commands each), plus one follow-up request only for what is neither in those answers nor cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from invoice_bridge.bitrix24.client import MAX_BATCH_COMMANDS, BatchRef, BatchResult, Bitrix24Client
from invoice_bridge.bitrix24.records import DealRecord, ProductRecord, ProductRowRecord, RequisiteRecord
from invoice_bridge.events import SMART_INVOICE_ENTITY_TYPE_ID, EntityType
from invoice_bridge.ttl_cache import TtlCache

CONTACT_ENTITY_TYPE_ID = 3
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
    seller: RequisiteRecord | None = None  # "my company" requisite chosen in the deal (MC_REQUISITE_ID)


class SnapshotCaches:
    """What a warm function keeps between invocations: product codes and "my company" requisites."""

    def __init__(self, ttl_seconds: float) -> None:
        self.product_codes: TtlCache[int, str | None] = TtlCache(ttl_seconds)
        self.requisites: TtlCache[int, RequisiteRecord | None] = TtlCache(ttl_seconds)


SourceKey = tuple[EntityType, int]
Snapshots = dict[SourceKey, DealSnapshot | SnapshotError]


def read_snapshots(client: Bitrix24Client, keys: Sequence[SourceKey], caches: SnapshotCaches) -> Snapshots:
    unique = list(dict.fromkeys(keys))
    outcome: Snapshots = {}
    follow_ups: dict[SourceKey, _FollowUp] = {}
    per_batch = MAX_BATCH_COMMANDS // _COMMANDS_PER_ENTITY
    for start in range(0, len(unique), per_batch):
        chunk = unique[start : start + per_batch]
        commands: dict[str, tuple[str, dict[str, Any]]] = {}
        for entity_type, entity_id in chunk:
            commands.update(_commands(entity_type, entity_id))
        result = client.batch(commands)
        for key in chunk:
            snapshot = outcome[key] = _snapshot_from(*key, result)
            if isinstance(snapshot, DealSnapshot):
                follow_ups[key] = _follow_up(snapshot, _names(*key), result)
    _complete(client, outcome, follow_ups, caches)
    return outcome


@dataclass(frozen=True)
class _FollowUp:
    """What the first batch could not settle: a requisite linked from outside the company, the contact's
    requisites when there is neither link nor company requisite, and the seller's requisite."""

    linked_requisite: int = 0
    contact: int = 0
    seller_requisite: int = 0


def _follow_up(snapshot: DealSnapshot, names: _CommandNames, result: BatchResult) -> _FollowUp:
    linked = _link_field(names, result, "REQUISITE_ID")
    needs_buyer = snapshot.buyer is None
    return _FollowUp(
        linked_requisite=linked if needs_buyer else 0,
        contact=snapshot.deal.CONTACT_ID if needs_buyer and not linked else 0,
        seller_requisite=_link_field(names, result, "MC_REQUISITE_ID"),
    )


def _complete(
    client: Bitrix24Client, outcome: Snapshots, follow_ups: dict[SourceKey, _FollowUp], caches: SnapshotCaches
) -> None:
    """One more batch, only when something is missing: product codes and sellers' requisites not cached yet,
    a requisite linked from outside the company, the contact's requisites."""
    snapshots = [s for s in outcome.values() if isinstance(s, DealSnapshot)]
    codes, unknown_products = caches.product_codes.get_many(
        {row.PRODUCT_ID for snapshot in snapshots for row in snapshot.rows if row.PRODUCT_ID}
    )
    sellers, unknown_sellers = caches.requisites.get_many(
        {f.seller_requisite for f in follow_ups.values() if f.seller_requisite}
    )
    linked = {f.linked_requisite for f in follow_ups.values() if f.linked_requisite}
    contacts = {f.contact for f in follow_ups.values() if f.contact}
    commands: dict[str, tuple[str, dict[str, Any]]] = {}
    commands.update({f"product_{pid}": ("catalog.product.get", {"id": pid}) for pid in sorted(unknown_products)})
    commands.update({f"rq_{rid}": ("crm.requisite.get", {"id": rid}) for rid in sorted(unknown_sellers | linked)})
    for contact in sorted(contacts):
        commands[f"contact_rq_{contact}"] = (
            "crm.requisite.list",
            {"filter": {"ENTITY_TYPE_ID": CONTACT_ENTITY_TYPE_ID, "ENTITY_ID": contact}, "order": {"ID": "ASC"}},
        )
    answers: dict[str, Any] = {}
    items = list(commands.items())
    for start in range(0, len(items), MAX_BATCH_COMMANDS):
        answers.update(client.batch(dict(items[start : start + MAX_BATCH_COMMANDS])).results)

    for pid in unknown_products:
        answer = answers.get(f"product_{pid}")
        product = answer.get("product") if isinstance(answer, dict) else None
        codes[pid] = (ProductRecord.model_validate(product).xmlId or None) if isinstance(product, dict) else None
        caches.product_codes.put(pid, codes[pid])
    for rid in unknown_sellers:
        found = answers.get(f"rq_{rid}")
        sellers[rid] = RequisiteRecord.model_validate(found) if isinstance(found, dict) and found else None
        caches.requisites.put(rid, sellers[rid])
    for key, follow_up in follow_ups.items():
        snapshot = outcome[key]
        assert isinstance(snapshot, DealSnapshot)  # noqa: S101 - follow-ups exist only for snapshots
        changes: dict[str, Any] = {
            "seller": sellers.get(follow_up.seller_requisite),
            "product_codes": {row.PRODUCT_ID: codes.get(row.PRODUCT_ID) for row in snapshot.rows if row.PRODUCT_ID},
        }
        linked_answer = answers.get(f"rq_{follow_up.linked_requisite}")
        contact_requisites = answers.get(f"contact_rq_{follow_up.contact}") or []
        if follow_up.linked_requisite and isinstance(linked_answer, dict) and linked_answer:
            changes["buyer"] = RequisiteRecord.model_validate(linked_answer)
            changes["buyer_source"] = f"the requisite selected in the {key[0].value}"
        elif follow_up.contact and contact_requisites:
            changes["buyer"] = RequisiteRecord.model_validate(contact_requisites[0])
            changes["buyer_source"] = f"the first requisite of contact {follow_up.contact}"
        outcome[key] = replace(snapshot, **changes)


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


def _link_field(names: _CommandNames, result: BatchResult, field_name: str) -> int:
    link = result.results.get(names.link)
    raw = link.get(field_name) if isinstance(link, dict) else None
    try:
        return max(0, int(raw)) if raw is not None else 0
    except (TypeError, ValueError):
        return 0


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
    fields = _renamed(main["item"], _INVOICE_FIELDS)
    contacts = main["item"].get("contactIds") or []
    if contacts:
        fields["CONTACT_ID"] = contacts[0]
    item = DealRecord.model_validate(fields)
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
    linked_id = _link_field(names, result, "REQUISITE_ID")
    if linked_id:
        by_id = {requisite.ID: requisite for requisite in company_requisites}
        return by_id.get(linked_id), f"the requisite selected in the {entity_type.value}"
    if record.COMPANY_ID and company_requisites:
        return company_requisites[0], f"the first requisite of company {record.COMPANY_ID}"
    return None, "nowhere"
