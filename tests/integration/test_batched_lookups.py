"""Through the real handlers: a cold 200-row deal costs at most 10 1C requests; items, counterparties and
contracts are looked up several at a time, each URL within the configured length."""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests

from local.bitrix24.sandbox import Bitrix24Sandbox
from local.onec.sandbox import OnecSandbox
from local.seed import DEALS, ONEC_BASE, PRODUCTS, OnecNomenclature, Product, ProductRow
from local.stack import LocalStack
from local.webhooks import FORM_HEADERS, webhook_body

D = Decimal
ROWS = 200
TEMPLATE = next(d for d in DEALS if d.id == 1001)
ITEMS = [
    OnecNomenclature(ref_key=str(uuid.UUID(int=0x5EED0000 + n)), code=f"00-9{n:07d}", description=f"Товар {n}")
    for n in range(ROWS)
]
# half the products carry the 1C Ref_Key as their external code, half the 1C code
BIG_PRODUCTS = [
    Product(id=9000 + n, name=item.description, xml_id=item.ref_key if n % 2 else item.code, vat_rate=D(22))
    for n, item in enumerate(ITEMS)
]
BIG_DEAL = dataclasses.replace(
    TEMPLATE,
    id=9901,
    rows=tuple(
        ProductRow(
            id=99000 + n,
            product_id=product.id,
            product_name=product.name,
            price=D("122.00"),
            quantity=D(1),
            tax_rate=D(22),
            tax_included=True,
        )
        for n, product in enumerate(BIG_PRODUCTS)
    ),
    opportunity=D("122.00") * ROWS,
    tax_value=D("22.00") * ROWS,
)


@pytest.fixture
def big_stack() -> Iterator[LocalStack]:
    base = dataclasses.replace(ONEC_BASE, nomenclature=(*ONEC_BASE.nomenclature, *ITEMS))
    local = LocalStack(
        bitrix=Bitrix24Sandbox(products=(*PRODUCTS, *BIG_PRODUCTS), deals=(*DEALS, BIG_DEAL)),
        onec=OnecSandbox(base),
        extra_environment={"ONEC_MAX_URL_LENGTH": "8000"},
    ).start(poll=False)
    try:
        yield local
    finally:
        local.stop()


def test_a_cold_200_row_deal_costs_at_most_ten_1c_requests(big_stack: LocalStack) -> None:
    big_stack.onec.reset_log()
    assert requests.post(big_stack.webhook_url, data=webhook_body(9901), headers=FORM_HEADERS, timeout=10).ok
    assert big_stack.event_source.poll_once(wait_seconds=1) == 1

    [draft] = [d for d in big_stack.onec.documents() if ":deal:9901]" in str(d["Комментарий"])]
    assert len(draft["Товары"]) == ROWS
    assert {line["Номенклатура"] for line in draft["Товары"]} == {item.ref_key for item in ITEMS}
    log = big_stack.onec.request_log
    assert len(log) <= 10, [(entry.method, entry.entity_set) for entry in log]
    item_reads = [entry for entry in log if entry.entity_set == "Catalog_Номенклатура"]
    assert 2 <= len(item_reads) <= 4  # GUIDs and codes apart, each in as few chunks as the URL length allows
    assert len([entry for entry in log if entry.entity_set == "Catalog_Контрагенты"]) == 1


def test_without_batching_it_would_cost_a_request_per_item(big_stack: LocalStack) -> None:
    """The look-ups the batch made are the ones each line would have made alone (the cache answers them)."""
    big_stack.onec.reset_log()
    assert requests.post(big_stack.webhook_url, data=webhook_body(9901), headers=FORM_HEADERS, timeout=10).ok
    assert big_stack.event_source.poll_once(wait_seconds=1) == 1
    reads = [(entry.method, entry.entity_set, entry.query.get("$filter", "")) for entry in big_stack.onec.request_log]
    item_filters = [f for method, entity_set, f in reads if entity_set == "Catalog_Номенклатура"]
    assert sum(f.count(" or ") + 1 for f in item_filters) == ROWS  # every item asked exactly once


def test_one_batch_of_deals_looks_up_its_buyers_and_contracts_together(stack: LocalStack) -> None:
    deal_ids = (1001, 1002, 1003)  # three buyers: Ромашка, Вектор, ИП Иванов
    for deal_id in deal_ids:
        assert requests.post(stack.webhook_url, data=webhook_body(deal_id), headers=FORM_HEADERS, timeout=10).ok
    stack.onec.reset_log()
    assert stack.event_source.poll_once(wait_seconds=1) == len(deal_ids)

    assert len([d for d in stack.onec.documents() if ":deal:100" in str(d["Комментарий"])]) == len(deal_ids)
    reads = Counter(entry.entity_set for entry in stack.onec.request_log if entry.method == "GET")
    assert reads["Catalog_Контрагенты"] == 1
    assert reads["Catalog_ДоговорыКонтрагентов"] == 1
    assert reads["Catalog_Номенклатура"] <= 2
