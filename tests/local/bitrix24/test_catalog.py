"""catalog.product.get and catalog.product.list."""

from __future__ import annotations

from local.bitrix24.sandbox import Bitrix24Sandbox
from tests.local.bitrix24.calls import call


def test_catalog_product_get(sandbox: Bitrix24Sandbox) -> None:
    product = call(sandbox, "catalog.product.get", {"id": 105}).json()["result"]["product"]
    assert product["id"] == 105
    assert isinstance(product["iblockId"], int)
    assert product["xmlId"] == "00-00000105"
    assert product["vatIncluded"] == "N"
    assert isinstance(product["vatId"], int)
    missing = call(sandbox, "catalog.product.get", {"id": 4040})
    assert missing.status_code == 400
    assert isinstance(missing.json()["error"], int)


def test_catalog_product_list_requires_iblock(sandbox: Bitrix24Sandbox) -> None:
    assert call(sandbox, "catalog.product.list", {"filter": {"id": 101}}).status_code == 400
    iblock = call(sandbox, "catalog.product.get", {"id": 101}).json()["result"]["product"]["iblockId"]
    body = call(
        sandbox,
        "catalog.product.list",
        {"filter": {"iblockId": iblock, "@id": [101, 104]}, "select": ["id", "iblockId", "xmlId", "vatId"]},
    ).json()
    assert [p["id"] for p in body["result"]["products"]] == [101, 104]
    assert body["total"] == 2
    assert set(body["result"]["products"][0]) == {"id", "iblockId", "xmlId", "vatId"}
