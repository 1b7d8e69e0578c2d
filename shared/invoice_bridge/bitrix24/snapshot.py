"""Reading what a deal or new invoice looks like now: the entity, its product rows, the buyer's and the
seller's requisites and the products' codes. An SQS batch is read in `batch` requests of 12 entities
(4 commands each), plus one follow-up request only for what is neither in those answers nor cached. A
request that fails is split so that it fails only the entities it carried (`isolated_batch`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from invoice_bridge.bitrix24.answers import UnreadableStage, entity_records, invoice_rows, row_records, validated
from invoice_bridge.bitrix24.client import BatchResult, Bitrix24Client, Bitrix24Error
from invoice_bridge.bitrix24.commands import (
    COMMANDS_PER_ENTITY,
    CONTACT_ENTITY_TYPE_ID,
    CommandNames,
    command_names,
    entity_commands,
    link_field,
    rows_command,
)
from invoice_bridge.bitrix24.isolated_batch import read_isolated
from invoice_bridge.bitrix24.records import DealRecord, ProductRecord, ProductRowRecord, RequisiteRecord
from invoice_bridge.events import EntityType
from invoice_bridge.messages import Msg, Text, t
from invoice_bridge.ttl_cache import TtlCache

_ENTITIES_PER_BATCH = 12
ROWS_PAGE_SIZE = 50  # crm.item.productrow.list pages
NO_BUYER = t(Msg.NO_BUYER_SOURCE)  # buyer_source when the entity names no buyer at all
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
    """The entity could not be read. With `problems`, Bitrix24 answered but in a shape the manager must hear
    about (the deal is rejected with them); otherwise it is skipped, or retried when `transient`."""

    def __init__(self, message: str, *, transient: bool, problems: tuple[Text, ...] = ()) -> None:
        super().__init__(message)
        self.transient = transient
        self.problems = problems


@dataclass(frozen=True)
class DealSnapshot:
    """A deal or a new invoice as the bridge needs it; invoices are read into the same deal-shaped records."""

    deal: DealRecord
    rows: tuple[ProductRowRecord, ...]
    buyer: RequisiteRecord | None
    buyer_source: Text  # where the buyer's requisite came from, for messages
    product_codes: dict[int, str | None] = field(default_factory=dict)  # product id → external code (xmlId)
    seller: RequisiteRecord | None = None  # "my company" requisite chosen in the deal (MC_REQUISITE_ID)
    problems: tuple[Text, ...] = ()  # records Bitrix24 sent in a shape that cannot be invoiced, field by field

    @property
    def buyer_unreadable(self) -> bool:
        """The buyer's requisite was found but is unreadable (its problems name `buyer_source`)."""
        return self.buyer is None and any(p.param("place") == self.buyer_source for p in self.problems)


class SnapshotCaches:
    """What a warm function keeps between invocations: product codes and "my company" requisites."""

    def __init__(self, ttl_seconds: float) -> None:
        self.product_codes: TtlCache[int, str | None] = TtlCache(ttl_seconds)
        self.requisites: TtlCache[int, RequisiteRecord | None] = TtlCache(ttl_seconds)


SourceKey = tuple[EntityType, int]
Snapshots = dict[SourceKey, DealSnapshot | SnapshotError]


def read_snapshots(client: Bitrix24Client, keys: Sequence[SourceKey], caches: SnapshotCaches) -> Snapshots:
    """Reads every entity; a request that fails is split (`isolated_batch`) so it fails only what it carried."""
    unique = list(dict.fromkeys(keys))
    outcome: Snapshots = {}
    follow_ups: dict[SourceKey, _FollowUp] = {}
    answers = read_isolated(
        client, [(key, entity_commands(*key)) for key in unique], max_commands=_ENTITIES_PER_BATCH * COMMANDS_PER_ENTITY
    )
    for key in unique:
        answer = answers[key]
        if isinstance(answer, Bitrix24Error):
            outcome[key] = SnapshotError(f"{_label(key)}: {answer}", transient=answer.transient)
            continue
        snapshot = outcome[key] = _snapshot_from(*key, answer)
        if isinstance(snapshot, DealSnapshot):
            follow_ups[key] = _follow_up(snapshot, command_names(*key), answer)
    _complete(client, outcome, follow_ups, caches)
    return outcome


def _label(key: SourceKey) -> str:
    return f"{key[0].value} {key[1]}"


@dataclass(frozen=True)
class _FollowUp:
    """What the first batch could not settle: a requisite linked from outside the company, the contact's
    requisites when there is neither link nor company requisite, the seller's requisite, and the product rows
    of a new invoice past its first page (`start` of each further page)."""

    linked_requisite: int = 0
    contact: int = 0
    seller_requisite: int = 0
    row_pages: tuple[int, ...] = ()


def _follow_up(snapshot: DealSnapshot, names: CommandNames, result: BatchResult) -> _FollowUp:
    linked = link_field(names, result, "REQUISITE_ID")
    needs_buyer = snapshot.buyer is None and not snapshot.buyer_unreadable
    pages: tuple[int, ...] = ()
    if names.rows in result.nexts:
        total = result.totals.get(names.rows, 0)
        pages = tuple(range(result.nexts[names.rows], total, ROWS_PAGE_SIZE))
    return _FollowUp(
        linked_requisite=linked if needs_buyer else 0,
        contact=snapshot.deal.CONTACT_ID if needs_buyer and not linked else 0,
        seller_requisite=link_field(names, result, "MC_REQUISITE_ID"),
        row_pages=pages,
    )


@dataclass
class _Answers:
    """The follow-up's answers by command, and the commands that failed: (what Bitrix24 said, transient)."""

    results: dict[str, Any] = field(default_factory=dict)
    failures: dict[str, tuple[str, bool]] = field(default_factory=dict)

    def read(self, client: Bitrix24Client, commands: dict[str, tuple[str, dict[str, Any]]]) -> None:
        answers = read_isolated(client, [(name, {name: command}) for name, command in commands.items()])
        for name, answer in answers.items():
            if isinstance(answer, Bitrix24Error):
                self.failures[name] = (str(answer), answer.transient)
            elif name in answer.results:
                self.results[name] = answer.results[name]
            else:
                error = answer.errors.get(name)
                text = f"{error.code} {error.description}" if error else "no answer"
                self.failures[name] = (text, error is not None and error.code.upper() in TRANSIENT_COMMAND_ERRORS)

    def transient_failure(self, names: Iterable[str]) -> str | None:
        """The first of these commands that failed for a passing reason, with what Bitrix24 said."""
        for name in names:
            text, transient = self.failures.get(name, ("", False))
            if transient:
                return f"{name}: {text}"
        return None


def _complete(
    client: Bitrix24Client, outcome: Snapshots, follow_ups: dict[SourceKey, _FollowUp], caches: SnapshotCaches
) -> None:
    """One more batch, only when something is missing: product codes and sellers' requisites not cached yet,
    a requisite linked from outside the company, the contact's requisites, further pages of invoice rows. Only
    products that first appear on those further pages cost one request more."""
    answers = _Answers()
    commands: dict[str, tuple[str, dict[str, Any]]] = {}
    for key, follow_up in follow_ups.items():
        names = command_names(*key)
        for start in follow_up.row_pages:
            commands[f"{names.rows}_{start}"] = rows_command(key[1], start)
    snapshots = [s for s in outcome.values() if isinstance(s, DealSnapshot)]
    codes, unknown_products = caches.product_codes.get_many(
        {row.PRODUCT_ID for snapshot in snapshots for row in snapshot.rows if row.PRODUCT_ID}
    )
    sellers, unknown_sellers = caches.requisites.get_many(
        {f.seller_requisite for f in follow_ups.values() if f.seller_requisite}
    )
    linked = {f.linked_requisite for f in follow_ups.values() if f.linked_requisite}
    commands.update({f"product_{pid}": ("catalog.product.get", {"id": pid}) for pid in sorted(unknown_products)})
    commands.update({f"rq_{rid}": ("crm.requisite.get", {"id": rid}) for rid in sorted(unknown_sellers | linked)})
    for contact in sorted({f.contact for f in follow_ups.values() if f.contact}):
        commands[f"contact_rq_{contact}"] = (
            "crm.requisite.list",
            {"filter": {"ENTITY_TYPE_ID": CONTACT_ENTITY_TYPE_ID, "ENTITY_ID": contact}, "order": {"ID": "ASC"}},
        )
    if commands:
        answers.read(client, commands)

    more_rows: dict[SourceKey, tuple[tuple[ProductRowRecord, ...], list[Text]]] = {}
    for key, follow_up in follow_ups.items():
        page_rows: list[ProductRowRecord] = []
        page_problems: list[Text] = []
        for start in follow_up.row_pages:
            page = answers.results.get(f"{command_names(*key).rows}_{start}")
            read, page_problems = row_records(invoice_rows(page), page_problems, first_number=start + 1)
            page_rows.extend(read)
        more_rows[key] = (tuple(page_rows), page_problems)
    later, unknown_later = caches.product_codes.get_many(
        {row.PRODUCT_ID for rows, _ in more_rows.values() for row in rows if row.PRODUCT_ID}
        - set(codes)
        - unknown_products
    )
    codes.update(later)
    if unknown_later:
        answers.read(client, {f"product_{pid}": ("catalog.product.get", {"id": pid}) for pid in sorted(unknown_later)})

    for pid in unknown_products | unknown_later:
        name = f"product_{pid}"
        if name in answers.failures and answers.failures[name][1]:
            continue  # not known now; not cached either
        product = answers.results.get(name)
        product = product.get("product") if isinstance(product, dict) else None
        record, _ = (
            validated(ProductRecord, product, t(Msg.PRODUCT, product=pid)) if product is not None else (None, [])
        )
        codes[pid] = (record.xmlId or None) if record is not None else None
        caches.product_codes.put(pid, codes[pid])
    seller_problems: dict[int, list[Text]] = {}
    for rid in unknown_sellers:
        if f"rq_{rid}" in answers.results or not answers.failures.get(f"rq_{rid}", ("", False))[1]:
            found, seller_problems[rid] = _seller(rid, answers.results.get(f"rq_{rid}"))
            sellers[rid] = found
            if found is not None:
                caches.requisites.put(rid, found)

    for key, follow_up in follow_ups.items():
        snapshot = outcome[key]
        assert isinstance(snapshot, DealSnapshot)  # noqa: S101 - follow-ups exist only for snapshots
        names = command_names(*key)
        rows = snapshot.rows + more_rows[key][0]
        needed = [f"{names.rows}_{start}" for start in follow_up.row_pages]
        needed += [f"product_{row.PRODUCT_ID}" for row in rows if row.PRODUCT_ID]
        needed += [f"rq_{follow_up.seller_requisite}", f"rq_{follow_up.linked_requisite}"]
        needed += [f"contact_rq_{follow_up.contact}"]
        if (failure := answers.transient_failure(needed)) is not None:
            outcome[key] = SnapshotError(f"{_label(key)}: Bitrix24 could not read {failure}", transient=True)
            continue
        pages_failed = [n for n in needed[: len(follow_up.row_pages)] if n in answers.failures]
        if pages_failed:
            text = answers.failures[pages_failed[0]][0]
            outcome[key] = SnapshotError(
                f"{_label(key)}: Bitrix24 could not read product rows: {text}", transient=False
            )
            continue
        problems = [*snapshot.problems, *more_rows[key][1]]
        if follow_up.seller_requisite:
            problems += seller_problems.get(follow_up.seller_requisite, [])
        changes: dict[str, Any] = {
            "rows": rows,
            "seller": sellers.get(follow_up.seller_requisite),
            "product_codes": {row.PRODUCT_ID: codes.get(row.PRODUCT_ID) for row in rows if row.PRODUCT_ID},
        }
        linked_answer = answers.results.get(f"rq_{follow_up.linked_requisite}")
        contact_requisites = answers.results.get(f"contact_rq_{follow_up.contact}") or []
        if follow_up.linked_requisite and isinstance(linked_answer, dict) and linked_answer:
            where = t(Msg.REQUISITE_SELECTED, entity=key[0])
            changes["buyer"], buyer_problems = validated(RequisiteRecord, linked_answer, where)
            changes["buyer_source"] = where
            problems += buyer_problems
        elif follow_up.contact and isinstance(contact_requisites, list) and contact_requisites:
            where = t(Msg.CONTACT_FIRST_REQUISITE, contact=follow_up.contact)
            changes["buyer"], buyer_problems = validated(RequisiteRecord, contact_requisites[0], where)
            changes["buyer_source"] = where
            problems += buyer_problems
        changes["problems"] = tuple(problems)
        outcome[key] = replace(snapshot, **changes)


def _seller(requisite_id: int, answer: Any) -> tuple[RequisiteRecord | None, list[Text]]:
    where = t(Msg.SELLER_REQUISITE_ID, requisite=requisite_id)
    if not isinstance(answer, dict) or not answer:
        return None, [t(Msg.SELLER_REQUISITE_NOT_FOUND, place=where)]
    return validated(RequisiteRecord, answer, where)


def _snapshot_from(entity_type: EntityType, entity_id: int, result: BatchResult) -> DealSnapshot | SnapshotError:
    names = command_names(entity_type, entity_id)
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
        record, rows, problems = entity_records(
            entity_type, entity_id, result.results[names.main], result.results.get(names.rows)
        )
    except UnreadableStage as exc:
        problem = t(Msg.STAGE_UNREADABLE, entity=entity_type, detail=exc.problems)
        return SnapshotError(f"{label}: {problem}", transient=False, problems=(problem,))
    buyer, source, buyer_problems = _buyer(entity_type, record, names, result)
    return DealSnapshot(deal=record, rows=rows, buyer=buyer, buyer_source=source, problems=(*problems, *buyer_problems))


def _buyer(
    entity_type: EntityType, record: DealRecord, names: CommandNames, result: BatchResult
) -> tuple[RequisiteRecord | None, Text, list[Text]]:
    raw = result.results.get(names.company_requisites) or []
    # The list is filtered by `$result[main][COMPANY_ID]`; with no company that reference is unresolved and the
    # portal substitutes the deepest value it has (the whole record), so keep only the company's own requisites.
    company_requisites = [
        row
        for row in (raw if isinstance(raw, list) else [])
        if isinstance(row, dict) and str(row.get("ENTITY_ID", record.COMPANY_ID)) == str(record.COMPANY_ID)
    ]
    linked_id = link_field(names, result, "REQUISITE_ID")
    if linked_id:
        where = t(Msg.REQUISITE_SELECTED, entity=entity_type)
        linked = next((row for row in company_requisites if str(row.get("ID")) == str(linked_id)), None)
        if linked is None:
            return None, where, []  # linked from outside the company: the follow-up reads it
        buyer, problems = validated(RequisiteRecord, linked, where)
        return buyer, where, problems
    if record.COMPANY_ID and company_requisites:
        where = t(Msg.COMPANY_FIRST_REQUISITE, company=record.COMPANY_ID)
        buyer, problems = validated(RequisiteRecord, company_requisites[0], where)
        return buyer, where, problems
    return None, NO_BUYER, []
