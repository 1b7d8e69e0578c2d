"""Telling Bitrix24: a timeline comment per changed document, and the stage and user-field moves configured.

Cost: at most one read request (a `batch` with the current stages of the entities to move and their funnels'
stage lists, `crm.status.list`), then every write of the sweep in `batch` requests of 50 commands — so a sweep
makes at most ⌈writes / 50⌉ + 1 requests to the portal. A new invoice's funnel is learned from `crm.item.get`
and kept in the ledger (`sync_category`): its stage list cannot join the same `batch` by reference (inside a
longer value a `$result[...]` is substituted only when it is a string — REST module,
`CRestUtil::processBatchElement` — and `categoryId` is a number), so an invoice whose funnel is not known yet
moves on the next sweep. A stage is moved forward only (by the funnel's SORT) unless moving backwards is
configured; a new invoice (entityTypeId 31) goes to its funnel's success stage (semantics "S", the last by
SORT), a deal to the configured stage of its funnel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from invoice_bridge.bitrix24.client import MAX_BATCH_COMMANDS, BatchResult, Bitrix24Client, Bitrix24Error
from invoice_bridge.events import SMART_INVOICE_ENTITY_TYPE_ID, EntityType
from invoice_bridge.observability import logger
from invoice_bridge.status_sync.state import StageGoal

# The same timeline types as the processor's write-backs ("smart_invoice" is unverified, reference/bitrix24.md §2.7).
TIMELINE_TYPES = {EntityType.DEAL: "deal", EntityType.INVOICE: "smart_invoice"}
MAX_INVOICE_READS = 24  # crm.item.get per invoice and its funnel's stage list, beside the deals', in one batch


@dataclass(frozen=True)
class StageRules:
    paid_stage_ids: tuple[str, ...] = ()  # deal stages, at most one per funnel
    partly_paid_stage_ids: tuple[str, ...] = ()
    move_invoices: bool = True  # a paid new invoice goes to its funnel's success stage
    allow_backwards: bool = False
    paid_amount_field: str = ""  # deal user fields (UF_CRM_…) for the amount paid and the last payment's date
    paid_date_field: str = ""

    def deal_stage(self, goal: StageGoal, category_id: int) -> str | None:
        wanted = self.paid_stage_ids if goal is StageGoal.PAID else self.partly_paid_stage_ids
        prefix = f"C{category_id}:" if category_id else ""
        for stage in wanted:
            if stage.startswith(prefix) if prefix else ":" not in stage:
                return stage
        return None

    @property
    def deal_stage_entities(self) -> tuple[str, ...]:
        entities = {_deal_stage_entity(stage) for stage in (*self.paid_stage_ids, *self.partly_paid_stage_ids)}
        return tuple(sorted(entities))


def _deal_stage_entity(stage_id: str) -> str:
    head, colon, _ = stage_id.partition(":")
    if colon and head.startswith("C") and head[1:].isdigit():
        return f"DEAL_STAGE_{head[1:]}"
    return "DEAL_STAGE"


@dataclass
class Tell:
    """What one document's change asks of Bitrix24."""

    entity_type: EntityType
    entity_id: int
    comment: str
    goal: StageGoal = StageGoal.NONE
    fields: dict[str, Any] | None = None  # deal user fields to write
    stage_to: str = ""  # filled by plan_stages: the stage to move to ("" = no move)
    stage_decided: bool = False  # plan_stages read what it needed (a move or a reason not to move)
    category: int | None = None  # a new invoice's funnel, as the ledger knows it; plan_stages learns it
    comment_ok: bool = False
    update_ok: bool = False

    @property
    def has_update(self) -> bool:
        return bool(self.stage_to or self.fields)


@dataclass(frozen=True)
class Stage:
    status_id: str
    sort: int
    semantics: str


def plan_stages(client: Bitrix24Client, tells: Sequence[Tell], rules: StageRules) -> int:
    """Decides each stage move from the entities' current stages (one read `batch`); returns requests made.
    A move the read could not decide is left for the next sweep (its goal stays untold)."""
    for tell in tells:  # what needs no read is decided at once
        tell.stage_decided = tell.goal is StageGoal.NONE or not _wanted(tell, rules)
    deals = [t for t in tells if not t.stage_decided and t.entity_type is EntityType.DEAL]
    invoices = [t for t in tells if not t.stage_decided and t.entity_type is EntityType.INVOICE][:MAX_INVOICE_READS]
    commands: dict[str, tuple[str, dict[str, Any]]] = {}
    for index in range(0, len(deals), 50):
        ids = [t.entity_id for t in deals[index : index + 50]]
        commands[f"deals_{index}"] = (
            "crm.deal.list",
            {"filter": {"@ID": ids}, "select": ["ID", "STAGE_ID", "CATEGORY_ID"], "start": -1},
        )
    if deals:
        for entity in rules.deal_stage_entities:
            commands[f"stages_{entity}"] = ("crm.status.list", {"filter": {"ENTITY_ID": entity}})
    for tell in invoices:
        item = f"invoice_{tell.entity_id}"
        commands[item] = ("crm.item.get", {"entityTypeId": SMART_INVOICE_ENTITY_TYPE_ID, "id": tell.entity_id})
        if tell.category is not None:
            commands[f"invoice_stages_{tell.category}"] = (
                "crm.status.list",
                {"filter": {"ENTITY_ID": f"SMART_INVOICE_STAGE_{tell.category}"}},
            )
    if not commands:
        return 0
    if len(commands) > MAX_BATCH_COMMANDS:  # more deals than one read holds: the rest wait for the next sweep
        commands = dict(list(commands.items())[:MAX_BATCH_COMMANDS])
    try:
        result = client.batch(commands)
    except Bitrix24Error as exc:
        logger.warning("status sync could not read stages", extra={"error": exc.code})
        return 1
    _plan_deals(deals, result, rules)
    _plan_invoices(invoices, result, rules)
    return 1


def _category(item: Any) -> int | None:
    fields = item.get("item") if isinstance(item, dict) else None
    value = fields.get("categoryId") if isinstance(fields, dict) else None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _wanted(tell: Tell, rules: StageRules) -> bool:
    if tell.entity_type is EntityType.INVOICE:
        return rules.move_invoices and tell.goal is StageGoal.PAID
    return bool(rules.paid_stage_ids if tell.goal is StageGoal.PAID else rules.partly_paid_stage_ids)


def _plan_deals(deals: Sequence[Tell], result: BatchResult, rules: StageRules) -> None:
    current: dict[int, tuple[str, int]] = {}
    stages: dict[str, Stage] = {}
    for key, value in result.results.items():
        if key.startswith("deals_") and isinstance(value, list):
            for row in value:
                current[_int(row.get("ID"))] = (str(row.get("STAGE_ID", "")), _int(row.get("CATEGORY_ID")))
        elif key.startswith("stages_") and isinstance(value, list):
            stages.update({stage.status_id: stage for stage in _stages(value)})
    for tell in deals:
        if tell.entity_id not in current:
            continue
        stage_id, category = current[tell.entity_id]
        target = rules.deal_stage(tell.goal, category)
        tell.stage_decided = True
        if target is not None:  # else no stage is configured for this funnel: nothing to move
            tell.stage_to = _move(stage_id, target, stages, rules.allow_backwards)


def _plan_invoices(invoices: Sequence[Tell], result: BatchResult, rules: StageRules) -> None:
    for tell in invoices:
        item = result.results.get(f"invoice_{tell.entity_id}")
        known, tell.category = tell.category, _category(item) if isinstance(item, dict) else tell.category
        listed = result.results.get(f"invoice_stages_{known}") if known is not None else None
        if not isinstance(item, dict) or not isinstance(listed, list) or tell.category != known:
            continue  # the funnel was not known (or changed): its stage list is read on the next sweep
        stage_id = str((item.get("item") or {}).get("stageId", ""))
        stages = {stage.status_id: stage for stage in _stages(listed)}
        success = sorted((s for s in stages.values() if s.semantics == "S"), key=lambda s: s.sort)
        tell.stage_decided = True
        if success:
            tell.stage_to = _move(stage_id, success[-1].status_id, stages, rules.allow_backwards)


def _move(current: str, target: str, stages: dict[str, Stage], allow_backwards: bool) -> str:
    """The stage to move to, or "" when the entity is there already or the move would go backwards."""
    if current == target or target not in stages:
        return ""
    here = stages.get(current)
    if here is not None and here.sort > stages[target].sort and not allow_backwards:
        return ""
    return target


def _stages(rows: list[Any]) -> list[Stage]:
    return [
        Stage(str(row.get("STATUS_ID", "")), _int(row.get("SORT")), str(row.get("SEMANTICS") or ""))
        for row in rows
        if isinstance(row, dict)
    ]


def send(client: Bitrix24Client, tells: Sequence[Tell]) -> int:
    """Every comment and update in batches of 50; marks what went through. Returns requests made."""
    commands: list[tuple[str, tuple[str, dict[str, Any]], Tell]] = []
    for index, tell in enumerate(tells):
        if tell.comment:
            fields = {
                "ENTITY_ID": tell.entity_id,
                "ENTITY_TYPE": TIMELINE_TYPES[tell.entity_type],
                "COMMENT": tell.comment,
            }
            commands.append((f"c{index}", ("crm.timeline.comment.add", {"fields": fields}), tell))
        else:
            tell.comment_ok = True
        if tell.has_update:
            commands.append((f"u{index}", _update(tell), tell))
        else:
            tell.update_ok = True
    requests = 0
    for start in range(0, len(commands), MAX_BATCH_COMMANDS):
        chunk = commands[start : start + MAX_BATCH_COMMANDS]
        requests += 1
        try:
            errors = client.batch({name: command for name, command, _ in chunk}).errors
        except Bitrix24Error as exc:
            logger.warning("status sync batch failed", extra={"error": exc.code, "commands": len(chunk)})
            continue
        for name, _, tell in chunk:
            error = errors.get(name)
            if error is not None and not _entity_gone(error.code, error.description):
                logger.warning("status sync write refused", extra={"entity_id": tell.entity_id, "error": error.code})
                continue  # told on the next sweep
            if error is not None:  # a deleted deal cannot be told: recorded as told, never retried
                logger.warning("status sync write dropped: the entity is gone", extra={"entity_id": tell.entity_id})
            if name.startswith("c"):
                tell.comment_ok = True
            else:
                tell.update_ok = True
    return requests


def _entity_gone(code: str, description: str) -> bool:
    """crm.item.* answer NOT_FOUND, crm.deal.* and crm.timeline.comment.add an empty code with «Not found»."""
    return code.upper() == "NOT_FOUND" or description.strip().lower().startswith("not found")


def _update(tell: Tell) -> tuple[str, dict[str, Any]]:
    if tell.entity_type is EntityType.DEAL:
        fields = dict(tell.fields or {})
        if tell.stage_to:
            fields["STAGE_ID"] = tell.stage_to
        return "crm.deal.update", {"id": tell.entity_id, "fields": fields}
    return "crm.item.update", {
        "entityTypeId": SMART_INVOICE_ENTITY_TYPE_ID,
        "id": tell.entity_id,
        "fields": {"stageId": tell.stage_to},
    }


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
