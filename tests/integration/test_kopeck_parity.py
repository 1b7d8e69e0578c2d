"""Through the real handlers: a kopeck between the rows and the deal's own TAX_VALUE rejects the deal with both
numbers and a metric; a deal mixing VAT-included and VAT-on-top rows reaches 1C with lines 1C keeps."""

from __future__ import annotations

import dataclasses
from collections import Counter
from decimal import Decimal
from typing import Any

import requests

from local.seed import DEALS, PORTAL_MEMBER_ID, ProductRow
from local.stack import LocalStack
from local.webhooks import FORM_HEADERS, webhook_body

D = Decimal
DEAL_1001 = next(d for d in DEALS if d.id == 1001)
LAPTOP = DEAL_1001.rows[0]  # 122000.00 × 2, 22 % included


def deliver(stack: LocalStack, deal_id: int) -> None:
    assert requests.post(stack.webhook_url, data=webhook_body(deal_id), headers=FORM_HEADERS, timeout=10).ok
    assert stack.event_source.poll_once(wait_seconds=1) == 1


def drafts_for(stack: LocalStack, deal_id: int) -> list[dict[str, Any]]:
    marker = f"[b24:{PORTAL_MEMBER_ID}:deal:{deal_id}]"
    return [doc for doc in stack.onec.documents() if marker in str(doc["Комментарий"])]


def test_a_kopeck_off_tax_value_is_rejected_with_both_numbers_and_counted(
    stack: LocalStack, emitted: Counter[str]
) -> None:
    stack.bitrix.set_deal(dataclasses.replace(DEAL_1001, id=8101, tax_value=D("68545.46")))
    deliver(stack, 8101)

    assert drafts_for(stack, 8101) == []
    [comment] = [c.comment for c in stack.bitrix.timeline_comments if c.entity_id == 8101]
    assert "НДС товаров 68\u00a0545,45\u00a0₽ не равен сумме налога сделки 68\u00a0545,46\u00a0₽" in comment
    assert emitted["CrossCheckMismatches"] == 1
    assert emitted["DealsRejected"] == 1


def test_a_mixed_tax_mode_deal_reaches_1c_with_lines_1c_keeps(stack: LocalStack) -> None:
    tiny_on_top = ProductRow(
        id=81021,
        product_id=DEAL_1001.rows[1].product_id,
        product_name="Крепёж, шт",
        price=D("0.01"),  # PRICE_EXCLUSIVE round(0.01 / 1.22) = 0.01: 10.00 net + 2.20 VAT for 1000
        quantity=D("1000"),
        tax_rate=D("22"),
        tax_included=False,
    )
    rows = (dataclasses.replace(LAPTOP, id=81020), tiny_on_top)
    stack.bitrix.set_deal(
        dataclasses.replace(DEAL_1001, id=8102, rows=rows, opportunity=D("244012.20"), tax_value=D("44002.20"))
    )
    deliver(stack, 8102)

    [draft] = drafts_for(stack, 8102)
    assert draft["СуммаВключаетНДС"] is False
    lines = draft["Товары"]
    for line in lines:
        price, quantity, amount = (D(str(line[name])) for name in ("Цена", "Количество", "Сумма"))
        assert abs((price * quantity).quantize(D("0.01")) - amount) <= D("0.01"), line
    assert [(D(str(line["Сумма"])), D(str(line["СуммаНДС"]))) for line in lines] == [
        (D("200000.00"), D("44000.00")),
        (D("10.00"), D("2.20")),
    ]
