"""crm.deal.productrows.get and crm.item.productrow.list."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
import requests

from local.bitrix24.sandbox import Bitrix24Sandbox
from local.seed import SMART_INVOICES
from tests.local.bitrix24.calls import TIMEOUT, call, exact


def test_product_rows_derive_prices_like_bitrix24(sandbox: Bitrix24Sandbox) -> None:
    rows = {row["ID"]: row for row in exact(call(sandbox, "crm.deal.productrows.get", {"id": 1003}))["result"]}
    row = rows["5006"]
    assert row["PRICE"] == Decimal("109800.00")
    assert row["PRICE_EXCLUSIVE"] == Decimal("90000.00")
    assert row["PRICE_NETTO"] == Decimal("100000.00")
    assert row["DISCOUNT_SUM"] == Decimal("10000.00")
    assert row["PRICE_BRUTTO"] == Decimal("122000.00")
    assert row["PRICE_ACCOUNT"] == "109800.00"
    assert row["DISCOUNT_TYPE_ID"] == 2
    assert row["DISCOUNT_RATE"] == 10
    assert row["TAX_RATE"] == 22
    assert row["TAX_INCLUDED"] == "N"
    assert row["OWNER_TYPE"] == "D"
    assert row["OWNER_ID"] == "1003"
    assert row["PRODUCT_ID"] == 101
    assert row["QUANTITY"] == 1
    no_discount = rows["5005"]
    assert (no_discount["PRICE_EXCLUSIVE"], no_discount["PRICE_NETTO"], no_discount["DISCOUNT_SUM"]) == (
        Decimal(1000),
        Decimal(1000),
        Decimal(0),
    )


def test_product_rows_keep_vat_zero_apart_from_without_vat(sandbox: Bitrix24Sandbox) -> None:
    rows = {row["ID"]: row for row in exact(call(sandbox, "crm.deal.productrows.get", {"id": 1002}))["result"]}
    assert rows["5003"]["TAX_RATE"] == 0
    assert rows["5004"]["TAX_RATE"] is None
    assert rows["5004"]["QUANTITY"] == Decimal("2.5")
    assert rows["5004"]["PRICE_EXCLUSIVE"] == Decimal("1500.5")
    assert rows["5004"]["TAX_INCLUDED"] == "Y"


def test_product_rows_round_the_exclusive_price_half_up(sandbox: Bitrix24Sandbox) -> None:
    rows = exact(call(sandbox, "crm.deal.productrows.get", {"id": 1001}))["result"]
    baby_food = next(row for row in rows if row["ID"] == "5002")
    assert baby_food["PRICE_EXCLUSIVE"] == Decimal("81818.18")  # 90000 / 1.1
    assert baby_food["PRICE_BRUTTO"] == Decimal("90000.00")


def test_product_rows_unknown_deal(sandbox: Bitrix24Sandbox) -> None:
    response = call(sandbox, "crm.deal.productrows.get", {"id": 5})
    assert response.status_code == 400
    assert response.json()["error"] == ""


PRODUCT_ROW_KEYS = {
    "id", "ownerId", "ownerType", "productId", "productName", "price", "priceAccount", "priceExclusive",
    "priceNetto", "priceBrutto", "quantity", "discountTypeId", "discountRate", "discountSum", "taxRate",
    "taxIncluded", "customized", "measureCode", "measureName", "sort", "xmlId", "type", "storeId",
}  # fmt: skip


def test_item_productrow_list_for_a_smart_invoice(sandbox: Bitrix24Sandbox) -> None:
    body = exact(call(sandbox, "crm.item.productrow.list", {"filter": {"=ownerType": "SI", "=ownerId": 501}}))
    assert body["total"] == 1
    (row,) = body["result"]["productRows"]
    assert set(row) == PRODUCT_ROW_KEYS
    assert (row["id"], row["ownerId"], row["ownerType"], row["productId"]) == (6001, 501, "SI", 101)
    assert row["price"] == Decimal("122000")
    assert row["priceAccount"] == Decimal("122000")
    assert row["priceExclusive"] == Decimal("100000")
    assert row["priceBrutto"] == Decimal("122000")
    assert (row["taxRate"], row["taxIncluded"], row["quantity"]) == (22, "Y", 1)

    rows = exact(call(sandbox, "crm.item.productrow.list", {"filter": {"=ownerType": "SI", "=ownerId": 502}}))
    assert rows["result"]["productRows"][0]["taxRate"] is None
    assert rows["result"]["productRows"][0]["quantity"] == 2


def test_item_productrow_list_for_a_deal_matches_the_old_method(sandbox: Bitrix24Sandbox) -> None:
    form = requests.post(
        sandbox.webhook_url + "crm.item.productrow.list",
        data={"filter[=ownerType]": "D", "filter[=ownerId]": "1003"},
        timeout=TIMEOUT,
    )
    rows = exact(form)["result"]["productRows"]
    old = exact(call(sandbox, "crm.deal.productrows.get", {"id": 1003}))["result"]
    assert [row["id"] for row in rows] == [int(row["ID"]) for row in old]
    assert [row["priceNetto"] for row in rows] == [row["PRICE_NETTO"] for row in old]
    assert [row["discountSum"] for row in rows] == [row["DISCOUNT_SUM"] for row in old]
    assert all(row["ownerType"] == "D" for row in rows)


def test_item_productrow_list_pages_fifty_rows_with_start_next_and_total(sandbox: Bitrix24Sandbox) -> None:
    invoice = next(i for i in SMART_INVOICES if i.id == 501)
    row = invoice.rows[0]
    rows = tuple(dataclasses.replace(row, id=900000 + n) for n in range(120))
    sandbox.set_smart_invoice(dataclasses.replace(invoice, rows=rows))
    owner = {"=ownerType": "SI", "=ownerId": 501}
    pages = [exact(call(sandbox, "crm.item.productrow.list", {"filter": owner, "start": s})) for s in (0, 50, 100)]
    assert [len(page["result"]["productRows"]) for page in pages] == [50, 50, 20]
    assert [page["total"] for page in pages] == [120, 120, 120]
    assert [page.get("next") for page in pages] == [50, 100, None]
    ids = [r["id"] for page in pages for r in page["result"]["productRows"]]
    assert ids == [900000 + n for n in range(120)]


@pytest.mark.parametrize("filters", [{"=ownerType": "SI"}, {"=ownerId": 501}, {"ownerType": "SI", "ownerId": 501}])
def test_item_productrow_list_needs_owner_type_and_id(sandbox: Bitrix24Sandbox, filters: dict[str, Any]) -> None:
    response = call(sandbox, "crm.item.productrow.list", {"filter": filters})
    assert response.status_code == 400
    assert set(response.json()) == {"error", "error_description"}
