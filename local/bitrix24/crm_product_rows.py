"""Product rows: ``crm.deal.productrows.get`` (a deal's rows, upper-case keys) and ``crm.item.productrow.list`` (any
owner's rows, camelCase, every figure a number), with the per-unit prices derived as Bitrix24 stores them.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from local.bitrix24.crm_deal import find_deal
from local.bitrix24.lists import list_rows
from local.bitrix24.protocol import MethodResult, RestError
from local.bitrix24.store import Method, PortalStore
from local.bitrix24.values import OWNER_TYPE_DEAL, OWNER_TYPE_SMART_INVOICE, money, param, yn
from local.seed import ProductRow

_HUNDRED = Decimal(100)
_PRODUCT_ROW_NUMERIC_FIELDS = frozenset(
    {"id", "ownerId", "productId", "price", "quantity", "taxRate", "discountRate", "sort", "type", "storeId"}
)
_CAMEL_PRODUCT_ROW_KEYS = {
    "ID": "id",
    "OWNER_ID": "ownerId",
    "OWNER_TYPE": "ownerType",
    "PRODUCT_ID": "productId",
    "PRODUCT_NAME": "productName",
    "PRICE": "price",
    "PRICE_ACCOUNT": "priceAccount",
    "PRICE_EXCLUSIVE": "priceExclusive",
    "PRICE_NETTO": "priceNetto",
    "PRICE_BRUTTO": "priceBrutto",
    "QUANTITY": "quantity",
    "DISCOUNT_TYPE_ID": "discountTypeId",
    "DISCOUNT_RATE": "discountRate",
    "DISCOUNT_SUM": "discountSum",
    "TAX_RATE": "taxRate",
    "TAX_INCLUDED": "taxIncluded",
    "CUSTOMIZED": "customized",
    "MEASURE_CODE": "measureCode",
    "MEASURE_NAME": "measureName",
    "SORT": "sort",
    "XML_ID": "xmlId",
    "TYPE": "type",
    "STORE_ID": "storeId",
}


def product_row_prices(row: ProductRow) -> dict[str, Decimal]:
    """Per-unit price fields of a product row, derived as Bitrix24 stores them (reference §4.1).

    PRICE is tax-inclusive after discount; PRICE_EXCLUSIVE removes the tax; a percent discount applies to the
    exclusive price, so PRICE_NETTO = PRICE_EXCLUSIVE / (1 - rate); PRICE_BRUTTO adds the tax back to netto.
    """
    tax = (row.tax_rate or Decimal(0)) / _HUNDRED
    price = money(row.price)
    exclusive = money(price / (1 + tax))
    discount = row.discount_rate / _HUNDRED
    netto = money(exclusive / (1 - discount)) if discount else exclusive
    return {
        "PRICE": price,
        "PRICE_EXCLUSIVE": exclusive,
        "PRICE_NETTO": netto,
        "PRICE_BRUTTO": money(netto * (1 + tax)),
        "DISCOUNT_SUM": netto - exclusive,
    }


def _product_row(store: PortalStore, owner_id: int, owner_type: str, row: ProductRow, index: int) -> dict[str, Any]:
    rates = product_row_prices(row)
    product = store.products.get(row.product_id)
    return {
        "ID": str(row.id),
        "OWNER_ID": str(owner_id),
        "OWNER_TYPE": owner_type,
        "PRODUCT_ID": row.product_id,
        "PRODUCT_NAME": row.product_name,
        "ORIGINAL_PRODUCT_NAME": product.name if product is not None else row.product_name,
        "PRODUCT_DESCRIPTION": None,
        "PRICE": rates["PRICE"],
        "PRICE_EXCLUSIVE": rates["PRICE_EXCLUSIVE"],
        "PRICE_NETTO": rates["PRICE_NETTO"],
        "PRICE_BRUTTO": rates["PRICE_BRUTTO"],
        "PRICE_ACCOUNT": str(rates["PRICE"]),
        "QUANTITY": row.quantity,
        "DISCOUNT_TYPE_ID": 2,
        "DISCOUNT_RATE": row.discount_rate,
        "DISCOUNT_SUM": rates["DISCOUNT_SUM"],
        "TAX_RATE": row.tax_rate,
        "TAX_INCLUDED": yn(row.tax_included),
        "CUSTOMIZED": "Y",
        "MEASURE_CODE": row.measure_code,
        "MEASURE_NAME": row.measure_name,
        "SORT": (index + 1) * 10,
        "XML_ID": f"sale_basket_{row.id}",
        "TYPE": 1,
        "STORE_ID": 0,
        **store.raw("row", row.id),
    }


def _camel_product_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A ``crm.deal.productrows.get`` row in ``crm.item.productrow.list`` shape: camelCase, every figure a number."""
    camel = {new: row[old] for old, new in _CAMEL_PRODUCT_ROW_KEYS.items()}
    camel["id"] = int(row["ID"])
    camel["ownerId"] = int(row["OWNER_ID"])
    camel["priceAccount"] = Decimal(row["PRICE_ACCOUNT"])
    return camel


def deal_productrows_get(store: PortalStore, params: dict[str, Any]) -> MethodResult:
    deal = find_deal(store, params, "The parameter id is invalid or not defined.")
    return MethodResult(
        [_product_row(store, deal.id, OWNER_TYPE_DEAL, row, index) for index, row in enumerate(deal.rows)]
    )


def item_productrow_list(store: PortalStore, params: dict[str, Any]) -> MethodResult:
    filters = param(params, "filter")
    if not isinstance(filters, dict) or "=ownerType" not in filters or "=ownerId" not in filters:
        raise RestError(400, "", "The filter must contain =ownerType and =ownerId")
    rows = [
        _camel_product_row(_product_row(store, deal.id, OWNER_TYPE_DEAL, row, index))
        for deal in store.deals.values()
        for index, row in enumerate(deal.rows)
    ]
    rows += [
        _camel_product_row(_product_row(store, invoice.id, OWNER_TYPE_SMART_INVOICE, row, index))
        for invoice in store.invoices.values()
        for index, row in enumerate(invoice.rows)
    ]
    listed = list_rows(
        rows,
        params,
        id_field="id",
        numeric_fields=_PRODUCT_ROW_NUMERIC_FIELDS,
        always_selected=("id",),
        filter_value=filters,
        list_order=store.list_order,
    )
    return MethodResult({"productRows": listed.result}, total=listed.total, next=listed.next)


METHODS: dict[str, Method] = {
    "crm.deal.productrows.get": deal_productrows_get,
    "crm.item.productrow.list": item_productrow_list,
}
