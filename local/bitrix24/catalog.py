"""``catalog.product.get``, ``catalog.product.list`` and ``catalog.vat.list``: the trade catalog's products and
the VAT rates a Russian portal ships.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from local.bitrix24.lists import list_rows
from local.bitrix24.protocol import MethodResult, RestError
from local.bitrix24.store import Method, PortalStore
from local.bitrix24.values import BASE_DATE, as_int, iso, param, yn
from local.seed import Product

CATALOG_IBLOCK_ID = 23

# Catalog VAT rates as a Russian portal ships them (catalog.vat.list): id → rate, None meaning "without VAT".
VAT_IDS: dict[int, Decimal | None] = {
    1: None,
    2: Decimal("0"),
    3: Decimal("10"),
    4: Decimal("20"),
    5: Decimal("22"),
}

_PRODUCT_NUMERIC_FIELDS = frozenset({"id", "iblockId", "vatId", "measure", "type", "sort"})


def _vat_id(rate: Decimal | None) -> int | None:
    for vat_id, vat_rate in VAT_IDS.items():
        if vat_rate == rate:
            return vat_id
    return None


def _product_row(product: Product) -> dict[str, Any]:
    return {
        "active": "Y",
        "available": "Y",
        "bundle": "N",
        "canBuyZero": "Y",
        "code": f"product_{product.id}",
        "createdBy": 1,
        "dateActiveFrom": None,
        "dateActiveTo": None,
        "dateCreate": iso(BASE_DATE),
        "detailPicture": None,
        "detailText": None,
        "detailTextType": "text",
        "height": None,
        "iblockId": CATALOG_IBLOCK_ID,
        "iblockSectionId": None,
        "id": product.id,
        "length": None,
        "measure": 5,
        "modifiedBy": 1,
        "name": product.name,
        "previewPicture": None,
        "previewText": None,
        "previewTextType": "text",
        "purchasingCurrency": "RUB",
        "purchasingPrice": None,
        "quantity": 0,
        "quantityReserved": 0,
        "quantityTrace": "D",
        "sort": 500,
        "subscribe": "D",
        "timestampX": iso(BASE_DATE),
        "type": 1,
        "vatId": _vat_id(product.vat_rate),
        "vatIncluded": yn(product.vat_included),
        "weight": None,
        "width": None,
        "xmlId": product.xml_id or "",  # an unset external code is "" on a real portal, never null
    }


def product_get(store: PortalStore, params: dict[str, Any]) -> MethodResult:
    product_id = as_int(param(params, "id"))
    product = store.products.get(product_id) if product_id is not None else None
    if product is None:
        # Documented catalog.product.get error (numeric code); the real API answers so for a missing id.
        raise RestError(400, 200040300010, "Access Denied")
    return MethodResult({"product": {**_product_row(product), **store.raw("product", product.id)}})


def product_list(store: PortalStore, params: dict[str, Any]) -> MethodResult:
    filters = params.get("filter")
    if not isinstance(filters, dict) or "iblockId" not in filters:
        raise RestError(400, 0, "Required filter fields: iblockId")
    listed = list_rows(
        [_product_row(product) for product in store.products.values()],
        params,
        id_field="id",
        numeric_fields=_PRODUCT_NUMERIC_FIELDS,
        always_selected=("id", "iblockId"),
        filter_value=filters,
        list_order=store.list_order,
    )
    return MethodResult({"products": listed.result}, total=listed.total, next=listed.next)


def vat_list(store: PortalStore, params: dict[str, Any]) -> MethodResult:
    vats = [
        {
            "id": vat_id,
            "name": "Без НДС" if rate is None else f"НДС {rate}%",
            "rate": rate,
            "excludeVat": yn(rate is None),
            "active": "Y",
            "sort": vat_id * 100,
            "timestampX": iso(BASE_DATE),
        }
        for vat_id, rate in VAT_IDS.items()
    ]
    return MethodResult({"vats": vats}, total=len(vats))


METHODS: dict[str, Method] = {
    "catalog.product.get": product_get,
    "catalog.product.list": product_list,
    "catalog.vat.list": vat_list,
}
