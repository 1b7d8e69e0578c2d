"""``crm.status.list``: the stages of the deal funnels and the new-invoice funnel the seed uses.

A stage belongs to one reference list (``ENTITY_ID``): ``DEAL_STAGE`` for the general deal funnel,
``DEAL_STAGE_<category>`` for the others, ``SMART_INVOICE_STAGE_<category>`` for new invoices. Its ``SEMANTICS`` is
``S`` (success), ``F`` (failure) or empty (in progress; ``stageSemanticId`` ``P`` on the records).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

from local.bitrix24.lists import list_rows
from local.bitrix24.protocol import MethodResult
from local.bitrix24.store import Method, PortalStore
from local.bitrix24.values import yn
from local.seed import Deal, SmartInvoice


@dataclass(frozen=True)
class Stage:
    """One row of ``crm.status.list``: a deal or invoice stage of one funnel."""

    entity_id: str  # DEAL_STAGE, DEAL_STAGE_1, SMART_INVOICE_STAGE_1
    status_id: str  # the stage ID the entities carry: WON, C1:WON, DT31_1:N
    name: str
    sort: int
    semantics: str | None  # "S" success, "F" failure, None in progress (stageSemanticId "P")
    category_id: int

    @property
    def semantic_id(self) -> str:
        return self.semantics or "P"


# The stages the seed uses. Invoice stage DT31_1:S counts as success here, as the seed's invoice 501 says.
STAGES: tuple[Stage, ...] = (
    Stage("DEAL_STAGE", "NEW", "Новая", 10, None, 0),
    Stage("DEAL_STAGE", "PREPARATION", "Подготовка документов", 20, None, 0),
    Stage("DEAL_STAGE", "WON", "Сделка успешна", 60, "S", 0),
    Stage("DEAL_STAGE", "LOSE", "Сделка провалена", 70, "F", 0),
    Stage("DEAL_STAGE_1", "C1:NEW", "Новая", 10, None, 1),
    Stage("DEAL_STAGE_1", "C1:UC_INVOICE", "Выставлен счёт", 20, None, 1),
    Stage("DEAL_STAGE_1", "C1:WON", "Сделка успешна", 60, "S", 1),
    Stage("DEAL_STAGE_1", "C1:LOSE", "Сделка провалена", 70, "F", 1),
    Stage("SMART_INVOICE_STAGE_1", "DT31_1:N", "Новый", 10, None, 1),
    Stage("SMART_INVOICE_STAGE_1", "DT31_1:S", "Отправлен клиенту", 20, "S", 1),
    Stage("SMART_INVOICE_STAGE_1", "DT31_1:P", "Оплачен", 30, "S", 1),
    Stage("SMART_INVOICE_STAGE_1", "DT31_1:D", "Не оплачен", 40, "F", 1),
)

_STATUS_NUMERIC_FIELDS = frozenset({"ID", "SORT", "CATEGORY_ID"})
_Staged = TypeVar("_Staged", Deal, SmartInvoice)


def deal_stage_entity(category_id: int) -> str:
    return "DEAL_STAGE" if category_id == 0 else f"DEAL_STAGE_{category_id}"


def smart_invoice_stage_entity(category_id: int) -> str:
    return f"SMART_INVOICE_STAGE_{category_id}"


def find_stage(stage_id: Any, entity_id: str) -> Stage | None:
    """The stage ``stage_id`` of the reference list ``entity_id``; None when that funnel has no such stage."""
    for stage in STAGES:
        if stage.entity_id == entity_id and stage.status_id == stage_id:
            return stage
    return None


def with_stage(record: _Staged, stage_id: Any, entity_id: str) -> _Staged:
    """``record`` moved to the stage ``stage_id`` of the list ``entity_id``; unchanged when there is no such stage
    (the portal ignores a stage of another funnel)."""
    stage = find_stage(stage_id, entity_id)
    if stage is None:
        return record
    return dataclasses.replace(record, stage_id=stage.status_id, stage_semantic_id=stage.semantic_id)


def _status_row(index: int, stage: Stage) -> dict[str, Any]:
    return {
        "ID": str(index),
        "ENTITY_ID": stage.entity_id,
        "STATUS_ID": stage.status_id,
        "NAME": stage.name,
        "NAME_INIT": stage.name,
        "SORT": str(stage.sort),
        "SYSTEM": yn(stage.semantics is not None or stage.sort == 10),
        "CATEGORY_ID": str(stage.category_id),
        "SEMANTICS": stage.semantics,
    }


def status_list(store: PortalStore, params: dict[str, Any]) -> MethodResult:
    rows = [_status_row(index, stage) for index, stage in enumerate(STAGES, start=1)]
    return list_rows(
        rows,
        params,
        id_field="ID",
        numeric_fields=_STATUS_NUMERIC_FIELDS,
        always_selected=("ID",),
        list_order=store.list_order,
    )


METHODS: dict[str, Method] = {"crm.status.list": status_list}
