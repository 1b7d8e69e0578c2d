"""``crm.requisite.link.get``, ``crm.requisite.list`` and ``crm.requisite.get``: the buyer's and the seller's
requisites (INN, KPP, OGRN ...) and which of them a deal or a new invoice uses.

The portal keeps a link per deal or invoice to its client's requisite and to its own company's (``MC_…``); the
bank-detail ids are 0 here, as the seed holds no bank details.
"""

from __future__ import annotations

from typing import Any

from local.bitrix24.lists import list_rows
from local.bitrix24.protocol import MethodResult, not_found
from local.bitrix24.store import Method, PortalStore
from local.bitrix24.values import ENTITY_TYPE_DEAL, ENTITY_TYPE_SMART_INVOICE, required_id
from local.seed import Deal, Requisite, SmartInvoice

_REQUISITE_NUMERIC_FIELDS = frozenset({"ID", "ENTITY_TYPE_ID", "ENTITY_ID", "PRESET_ID", "SORT"})


def _requisite_row(requisite: Requisite) -> dict[str, Any]:
    return {
        "ID": str(requisite.id),
        "ENTITY_TYPE_ID": str(requisite.entity_type_id),
        "ENTITY_ID": str(requisite.entity_id),
        "PRESET_ID": str(requisite.preset_id),
        "NAME": requisite.name,
        "ACTIVE": "Y",
        "SORT": "500",
        "RQ_COMPANY_NAME": requisite.company_name,
        "RQ_COMPANY_FULL_NAME": requisite.company_full_name,
        "RQ_INN": requisite.inn,
        "RQ_KPP": requisite.kpp,
        "RQ_OGRN": requisite.ogrn,
        "RQ_OGRNIP": requisite.ogrnip,
        "RQ_FIRST_NAME": requisite.first_name,
        "RQ_LAST_NAME": requisite.last_name,
        "RQ_SECOND_NAME": requisite.second_name,
    }


def _served_row(store: PortalStore, requisite: Requisite) -> dict[str, Any]:
    return {**_requisite_row(requisite), **store.raw("requisite", requisite.id)}


def requisite_link_get(store: PortalStore, params: dict[str, Any]) -> MethodResult:
    entity_type_id = required_id(params, "entityTypeId", "entityTypeId is not defined or invalid.")
    entity_id = required_id(params, "entityId", "entityId is not defined or invalid.")
    owner: Deal | SmartInvoice | None = None
    if entity_type_id == ENTITY_TYPE_DEAL:
        owner = store.deals.get(entity_id)
    elif entity_type_id == ENTITY_TYPE_SMART_INVOICE:
        owner = store.invoices.get(entity_id)
    if owner is None or owner.requisite_id is None:
        raise not_found()
    return MethodResult(
        {
            "ENTITY_TYPE_ID": entity_type_id,
            "ENTITY_ID": entity_id,
            "REQUISITE_ID": str(owner.requisite_id),
            "BANK_DETAIL_ID": "0",
            "MC_REQUISITE_ID": str(owner.my_company_requisite_id),
            "MC_BANK_DETAIL_ID": "0",
        }
    )


def requisite_list(store: PortalStore, params: dict[str, Any]) -> MethodResult:
    return list_rows(
        [_served_row(store, requisite) for requisite in store.requisites.values()],
        params,
        id_field="ID",
        numeric_fields=_REQUISITE_NUMERIC_FIELDS,
        always_selected=("ID",),
        list_order=store.list_order,
    )


def requisite_get(store: PortalStore, params: dict[str, Any]) -> MethodResult:
    requisite = store.requisites.get(required_id(params, "id", "ID is not defined or invalid."))
    if requisite is None:
        raise not_found()
    return MethodResult(_served_row(store, requisite))


METHODS: dict[str, Method] = {
    "crm.requisite.link.get": requisite_link_get,
    "crm.requisite.list": requisite_list,
    "crm.requisite.get": requisite_get,
}
