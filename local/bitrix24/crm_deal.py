"""``crm.deal.get``, ``crm.deal.list`` and ``crm.deal.update``: deals the old way, upper-case keys and string values.

An update keeps what the portal would keep: a new title, a stage of the deal's own funnel, defined user fields;
anything else (a misspelled UF name too) is dropped without a word. ``crm.item.update`` on a deal goes through
:func:`apply_deal_fields` as well.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from local.bitrix24.crm_status import deal_stage_entity, with_stage
from local.bitrix24.lists import list_rows
from local.bitrix24.protocol import MethodResult, not_found
from local.bitrix24.store import DealUpdate, Method, PortalStore
from local.bitrix24.user_fields import store_user_fields, user_field_values
from local.bitrix24.values import BASE_DATE, fields_param, iso, money_text, required_id, yn
from local.seed import Deal

_DEAL_NUMERIC_FIELDS = frozenset(
    {"ID", "CATEGORY_ID", "COMPANY_ID", "OPPORTUNITY", "TAX_VALUE", "PROBABILITY", "ASSIGNED_BY_ID"}
)
_DEAL_DATE_FIELDS = frozenset({"DATE_CREATE", "DATE_MODIFY", "BEGINDATE", "CLOSEDATE", "MOVED_TIME"})


def find_deal(store: PortalStore, params: Mapping[str, Any], description: str) -> Deal:
    """The deal the ``id`` parameter names: 400 ``description`` for a bad id, 400 "Not found" for a missing deal."""
    deal = store.deals.get(required_id(params, "id", description))
    if deal is None:
        raise not_found()
    return deal


def _deal_row(store: PortalStore, deal: Deal) -> dict[str, Any]:
    modified = iso(store.deal_modified.get(deal.id, BASE_DATE))
    closed = deal.stage_semantic_id in {"S", "F"}
    probability = {"S": "100", "F": "0"}.get(deal.stage_semantic_id, "50")
    row: dict[str, Any] = {
        "ID": str(deal.id),
        "TITLE": deal.title,
        "TYPE_ID": "SALE",
        "STAGE_ID": deal.stage_id,
        "PROBABILITY": probability,
        "CURRENCY_ID": deal.currency_id,
        "OPPORTUNITY": money_text(deal.opportunity),
        "IS_MANUAL_OPPORTUNITY": yn(deal.is_manual_opportunity),
        "TAX_VALUE": money_text(deal.tax_value),
        "LEAD_ID": None,
        "COMPANY_ID": str(deal.company_id),
        "CONTACT_ID": str(deal.contact_id) if deal.contact_id else None,
        "QUOTE_ID": None,
        "BEGINDATE": iso(BASE_DATE.replace(hour=3)),
        "CLOSEDATE": iso(BASE_DATE.replace(hour=3) + timedelta(days=7)),
        "ASSIGNED_BY_ID": "1",
        "CREATED_BY_ID": "1",
        "MODIFY_BY_ID": "1",
        "DATE_CREATE": iso(BASE_DATE),
        "DATE_MODIFY": modified,
        "OPENED": "Y",
        "CLOSED": yn(closed),
        "COMMENTS": "",
        "ADDITIONAL_INFO": None,
        "LOCATION_ID": None,
        "CATEGORY_ID": str(deal.category_id),
        "STAGE_SEMANTIC_ID": deal.stage_semantic_id,
        "IS_NEW": "N",
        "IS_RECURRING": "N",
        "IS_RETURN_CUSTOMER": "N",
        "IS_REPEATED_APPROACH": "N",
        "SOURCE_ID": "WEB",
        "SOURCE_DESCRIPTION": None,
        "ORIGINATOR_ID": None,
        "ORIGIN_ID": None,
        "MOVED_BY_ID": "1",
        "MOVED_TIME": modified,
        "LAST_ACTIVITY_TIME": modified,
        "UTM_SOURCE": None,
        "UTM_MEDIUM": None,
        "UTM_CAMPAIGN": None,
        "UTM_CONTENT": None,
        "UTM_TERM": None,
        "LAST_ACTIVITY_BY": "1",
    }
    row.update(user_field_values(store.deal_user_fields, store.deal_uf.get(deal.id, {})))
    row.update(store.raw("deal", deal.id))
    return row


def apply_deal_fields(
    store: PortalStore, deal: Deal, standard: Mapping[str, Any], user_fields: Mapping[str, Any]
) -> None:
    """Store what the portal would keep; unknown names (a misspelled UF field too) are silently dropped."""
    changed = deal
    title = standard.get("title")
    if isinstance(title, str) and title.strip():
        changed = dataclasses.replace(changed, title=title)
    store.deals[deal.id] = with_stage(changed, standard.get("stage_id"), deal_stage_entity(deal.category_id))
    store_user_fields(store.deal_uf.setdefault(deal.id, {}), store.deal_user_fields, user_fields)
    store.deal_modified[deal.id] = store.now()


def deal_get(store: PortalStore, params: dict[str, Any]) -> MethodResult:
    return MethodResult(_deal_row(store, find_deal(store, params, "ID is not defined or invalid.")))


def deal_list(store: PortalStore, params: dict[str, Any]) -> MethodResult:
    return list_rows(
        [_deal_row(store, deal) for deal in store.deals.values()],
        params,
        id_field="ID",
        numeric_fields=_DEAL_NUMERIC_FIELDS,
        date_fields=_DEAL_DATE_FIELDS,
        always_selected=("ID",),
        uf_prefix="UF_",
        list_order=store.list_order,
    )


def deal_update(store: PortalStore, params: dict[str, Any]) -> MethodResult:
    deal = find_deal(store, params, "ID is not defined or invalid.")
    fields = fields_param(params)
    standard = {"title": fields.get("TITLE"), "stage_id": fields.get("STAGE_ID")}
    user_fields = {key: value for key, value in fields.items() if key.startswith("UF_")}
    apply_deal_fields(store, deal, standard, user_fields)
    store.deal_updates.append(DealUpdate(deal.id, copy.deepcopy(fields)))
    return MethodResult(True)


METHODS: dict[str, Method] = {
    "crm.deal.get": deal_get,
    "crm.deal.list": deal_list,
    "crm.deal.update": deal_update,
}
