"""Which REST commands read one deal or new invoice in the first `batch` request, and their names there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from invoice_bridge.bitrix24.client import BatchRef, BatchResult
from invoice_bridge.events import SMART_INVOICE_ENTITY_TYPE_ID, EntityType

CONTACT_ENTITY_TYPE_ID = 3
COMPANY_ENTITY_TYPE_ID = 4
DEAL_ENTITY_TYPE_ID = 2
COMMANDS_PER_ENTITY = 4


@dataclass(frozen=True)
class CommandNames:
    main: str
    rows: str
    link: str
    company_requisites: str


def command_names(entity_type: EntityType, entity_id: int) -> CommandNames:
    prefix = "" if entity_type is EntityType.DEAL else "invoice_"
    main = "deal" if entity_type is EntityType.DEAL else "invoice"
    return CommandNames(
        main=f"{main}_{entity_id}",
        rows=f"{prefix}rows_{entity_id}",
        link=f"{prefix}link_{entity_id}",
        company_requisites=f"{prefix}company_rq_{entity_id}",
    )


def entity_commands(entity_type: EntityType, entity_id: int) -> dict[str, tuple[str, dict[str, Any]]]:
    names = command_names(entity_type, entity_id)
    if entity_type is EntityType.DEAL:
        main: tuple[str, dict[str, Any]] = ("crm.deal.get", {"id": entity_id})
        rows: tuple[str, dict[str, Any]] = ("crm.deal.productrows.get", {"id": entity_id})
        company = BatchRef(names.main, ("COMPANY_ID",))
        type_id = DEAL_ENTITY_TYPE_ID
    else:
        main = ("crm.item.get", {"entityTypeId": SMART_INVOICE_ENTITY_TYPE_ID, "id": entity_id})
        rows = rows_command(entity_id)
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


def link_field(names: CommandNames, result: BatchResult, field_name: str) -> int:
    link = result.results.get(names.link)
    raw = link.get(field_name) if isinstance(link, dict) else None
    try:
        return max(0, int(raw)) if raw is not None else 0
    except (TypeError, ValueError):
        return 0


def rows_command(invoice_id: int, start: int | None = None) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {
        "filter": {"=ownerType": "SI", "=ownerId": invoice_id},
        "order": {"sort": "ASC", "id": "ASC"},  # one order for every page
    }
    if start is not None:
        params["start"] = start
    return "crm.item.productrow.list", params
