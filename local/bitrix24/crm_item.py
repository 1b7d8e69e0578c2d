"""``crm.item.get``, ``crm.item.list`` and ``crm.item.update`` for deals (entityTypeId 2) and new invoices (31).

Items are camelCase with typed values; user fields are ``ufCrm…`` unless ``useOriginalUfNames`` asks for
``UF_CRM_…``. The old invoices (5) are refused as the portal refuses them; other types are not served here.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, TypeVar

from local.bitrix24.crm_deal import apply_deal_fields
from local.bitrix24.crm_status import smart_invoice_stage_entity, with_stage
from local.bitrix24.lists import list_rows
from local.bitrix24.protocol import MethodResult, RestError, item_not_found
from local.bitrix24.store import ItemUpdate, Method, PortalStore
from local.bitrix24.user_fields import item_user_fields, store_user_fields, uf_name_from_camel, user_field_values
from local.bitrix24.values import (
    BASE_DATE,
    ENTITY_TYPE_DEAL,
    ENTITY_TYPE_OLD_INVOICE,
    ENTITY_TYPE_SMART_INVOICE,
    as_int,
    fields_param,
    iso,
    money,
    param,
    truthy,
    yn,
)
from local.seed import MY_COMPANY, Deal, SmartInvoice

_ITEM_NUMERIC_FIELDS = frozenset(
    {
        "id",
        "categoryId",
        "companyId",
        "opportunity",
        "taxValue",
        "mycompanyId",
        "parentId2",
        "assignedById",
        "entityTypeId",
    }
)
_ITEM_DATE_FIELDS = frozenset({"createdTime", "updatedTime", "movedTime", "begindate", "closedate"})
_Record = TypeVar("_Record", Deal, SmartInvoice)


def _entity_type(params: Mapping[str, Any]) -> int:
    entity_type_id = as_int(param(params, "entityTypeId"))
    if entity_type_id in {ENTITY_TYPE_DEAL, ENTITY_TYPE_SMART_INVOICE}:
        return int(entity_type_id)
    if entity_type_id == ENTITY_TYPE_OLD_INVOICE:
        raise RestError(400, "ENTITY_TYPE_NOT_SUPPORTED", "Entity type `Invoice` is not supported")
    if entity_type_id in {1, 3, 4, 7}:
        raise RestError(400, "ENTITY_TYPE_NOT_SUPPORTED", "This sandbox serves deals (2) and invoices (31)")
    raise RestError(400, "NOT_FOUND", "Smart process not found")


def _found(records: Mapping[int, _Record], item_id: int | None) -> _Record:
    record = records.get(item_id) if item_id is not None else None
    if record is None:
        raise item_not_found()
    return record


def _authors_and_times(modified: str) -> dict[str, Any]:
    """Who created, changed and moved an item (user 1 here) and when."""
    return {
        "createdBy": 1,
        "updatedBy": 1,
        "movedBy": 1,
        "createdTime": iso(BASE_DATE),
        "updatedTime": modified,
        "movedTime": modified,
    }


def _deal_item(store: PortalStore, deal: Deal, original_uf_names: bool) -> dict[str, Any]:
    """A deal as ``crm.item.get``/``crm.item.list`` answer it (entityTypeId 2): camelCase, typed values."""
    modified = iso(store.deal_modified.get(deal.id, BASE_DATE))
    item: dict[str, Any] = {
        "id": deal.id,
        "title": deal.title,
        "typeId": "SALE",
        "stageId": deal.stage_id,
        "stageSemanticId": deal.stage_semantic_id,
        "categoryId": deal.category_id,
        "probability": {"S": 100, "F": 0}.get(deal.stage_semantic_id, 50),
        "currencyId": deal.currency_id,
        "opportunity": money(deal.opportunity),
        "isManualOpportunity": yn(deal.is_manual_opportunity),
        "taxValue": money(deal.tax_value),
        "companyId": deal.company_id,
        "contactId": None,
        "contactIds": [],
        "quoteId": None,
        "begindate": iso(BASE_DATE.replace(hour=3)),
        "closedate": iso(BASE_DATE.replace(hour=3) + timedelta(days=7)),
        "opened": "Y",
        "closed": yn(deal.stage_semantic_id in {"S", "F"}),
        "comments": "",
        "assignedById": 1,
        **_authors_and_times(modified),
        "sourceId": "WEB",
        "sourceDescription": None,
        "leadId": None,
        "observers": [],
        "entityTypeId": ENTITY_TYPE_DEAL,
    }
    values = user_field_values(store.deal_user_fields, store.deal_uf.get(deal.id, {}))
    item.update(item_user_fields(values, ENTITY_TYPE_DEAL, original_uf_names))
    return item


def _invoice_item(store: PortalStore, invoice: SmartInvoice, original_uf_names: bool) -> dict[str, Any]:
    """A new invoice as ``crm.item.get``/``crm.item.list`` answer it (entityTypeId 31, reference §2.6)."""
    modified = iso(store.invoice_modified.get(invoice.id, BASE_DATE))
    item: dict[str, Any] = {
        "id": invoice.id,
        "xmlId": None,
        "title": invoice.title,
        **_authors_and_times(modified),
        "categoryId": invoice.category_id,
        "opened": "Y",
        "stageId": invoice.stage_id,
        "previousStageId": "",
        "begindate": iso(BASE_DATE.replace(hour=3)),
        "closedate": iso(BASE_DATE.replace(hour=3) + timedelta(days=10)),
        "companyId": invoice.company_id,
        "contactId": None,
        "opportunity": money(invoice.opportunity),
        "isManualOpportunity": yn(invoice.is_manual_opportunity),
        "taxValue": money(invoice.tax_value),
        "currencyId": invoice.currency_id,
        "mycompanyId": MY_COMPANY.id,
        "sourceId": None,
        "sourceDescription": None,
        "webformId": None,
        "assignedById": 1,
        "accountNumber": invoice.account_number,
        "comments": "",
        "locationId": None,
        "stageSemanticId": invoice.stage_semantic_id,
        "lastActivityBy": 1,
        "lastActivityTime": modified,
        "parentId2": invoice.parent_deal_id,
        "parentId7": None,
        "contactIds": [],
        "observers": [],
        "entityTypeId": ENTITY_TYPE_SMART_INVOICE,
    }
    values = user_field_values(store.invoice_user_fields, store.invoice_uf.get(invoice.id, {}))
    item.update(item_user_fields(values, ENTITY_TYPE_SMART_INVOICE, original_uf_names))
    item.update(store.raw("invoice", invoice.id))
    return item


def _apply_invoice_fields(
    store: PortalStore, invoice: SmartInvoice, fields: Mapping[str, Any], user_fields: Mapping[str, Any]
) -> None:
    changed = invoice
    title, number = fields.get("title"), fields.get("accountNumber")
    if isinstance(title, str) and title.strip():
        changed = dataclasses.replace(changed, title=title)
    if isinstance(number, str):
        changed = dataclasses.replace(changed, account_number=number)
    store.invoices[invoice.id] = with_stage(
        changed, fields.get("stageId"), smart_invoice_stage_entity(invoice.category_id)
    )
    store_user_fields(store.invoice_uf.setdefault(invoice.id, {}), store.invoice_user_fields, user_fields)
    store.invoice_modified[invoice.id] = store.now()


def item_get(store: PortalStore, params: dict[str, Any]) -> MethodResult:
    entity_type_id = _entity_type(params)
    original = truthy(param(params, "useOriginalUfNames"))
    item_id = as_int(param(params, "id"))
    if entity_type_id == ENTITY_TYPE_DEAL:
        return MethodResult({"item": _deal_item(store, _found(store.deals, item_id), original)})
    return MethodResult({"item": _invoice_item(store, _found(store.invoices, item_id), original)})


def item_list(store: PortalStore, params: dict[str, Any]) -> MethodResult:
    entity_type_id = _entity_type(params)
    original = truthy(param(params, "useOriginalUfNames"))
    if entity_type_id == ENTITY_TYPE_DEAL:
        rows = [_deal_item(store, deal, original) for deal in store.deals.values()]
    else:
        rows = [_invoice_item(store, invoice, original) for invoice in store.invoices.values()]
    listed = list_rows(
        rows,
        params,
        id_field="id",
        numeric_fields=_ITEM_NUMERIC_FIELDS,
        date_fields=_ITEM_DATE_FIELDS,
        always_selected=("id",),
        list_order=store.list_order,
    )
    return MethodResult({"items": listed.result}, total=listed.total, next=listed.next)


def item_update(store: PortalStore, params: dict[str, Any]) -> MethodResult:
    entity_type_id = _entity_type(params)
    item_id = as_int(param(params, "id"))
    fields = fields_param(params)
    user_fields: dict[str, Any] = {}
    for key, value in fields.items():
        name = key if key.startswith("UF_") else uf_name_from_camel(key, entity_type_id)
        if name is not None:
            user_fields[name] = value
    original = truthy(param(params, "useOriginalUfNames"))
    if entity_type_id == ENTITY_TYPE_DEAL:
        deal = _found(store.deals, item_id)
        standard = {"title": fields.get("title"), "stage_id": fields.get("stageId")}
        apply_deal_fields(store, deal, standard, user_fields)
        item = _deal_item(store, store.deals[deal.id], original)
    else:
        invoice = _found(store.invoices, item_id)
        _apply_invoice_fields(store, invoice, fields, user_fields)
        item = _invoice_item(store, store.invoices[invoice.id], original)
    store.item_updates.append(ItemUpdate(entity_type_id, int(item["id"]), copy.deepcopy(fields)))
    return MethodResult({"item": item})


METHODS: dict[str, Method] = {
    "crm.item.get": item_get,
    "crm.item.list": item_list,
    "crm.item.update": item_update,
}
