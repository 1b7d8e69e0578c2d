"""The main comments as reviewed samples: docs/samples/comments.<language>.md is what a reviewer reads, and this
test fails when the code would now say something else. After an intended change:
`UPDATE_SAMPLES=1 .venv/bin/pytest tests/unit/test_comment_samples.py`, then review the diff."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from invoice_bridge.bitrix24.records import DealRecord, ProductRowRecord, RequisiteRecord
from invoice_bridge.bitrix24.snapshot import DealSnapshot
from invoice_bridge.comments import (
    document_comment,
    preflight_comment,
    rejected_comment,
    withdrawn_comment,
)
from invoice_bridge.events import EntityType
from invoice_bridge.invoice.mapping import DealIdentity, Rejection, map_deal
from invoice_bridge.invoice.model import InvoiceDraft, VatRate
from invoice_bridge.messages import Language, Msg, Text, render, t
from invoice_bridge.onec.catalogs import no_counterparty
from invoice_bridge.onec.navigation import document_link
from invoice_bridge.requisites import inn_problem
from invoice_bridge.status_sync.comment import status_comment
from invoice_bridge.status_sync.state import DocumentState, Payment, Told, transition

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "docs" / "samples"
ON = date(2026, 12, 4)
URL = "https://portal.bitrix24.ru/crm/deal/details/1001/"
IDENTITY = DealIdentity(ledger_key="m#deal#1001", external_key="b24:m:deal:1001", url=URL)
BUYER = RequisiteRecord(
    ID=21, NAME="Основной", RQ_COMPANY_NAME="ООО «Ромашка»", RQ_INN="7707083893", RQ_KPP="773601001"
)
LINK = document_link(
    "https://1c.example.ru/buh/", "Document_СчетНаОплатуПокупателю", "3f2b8c1e-5d4a-11ef-9a1b-0050569f1a2b"
)


def _row(number: int, **fields: object) -> ProductRowRecord:
    base: dict[str, object] = {"ID": number, "PRODUCT_ID": 100 + number, "TAX_INCLUDED": "Y", "QUANTITY": "1"}
    return ProductRowRecord.model_validate({**base, **fields})


def _snapshot(
    rows: tuple[ProductRowRecord, ...], buyer: RequisiteRecord, opportunity: str, tax_value: str = "0"
) -> DealSnapshot:
    deal = DealRecord.model_validate(
        {
            "ID": 1001,
            "TITLE": "Поставка ноутбуков и питания",
            "STAGE_ID": "WON",
            "STAGE_SEMANTIC_ID": "S",
            "CURRENCY_ID": "RUB",
            "OPPORTUNITY": opportunity,
            "TAX_VALUE": tax_value,
            "COMPANY_ID": 14,
        }
    )
    codes: dict[int, str | None] = {row.PRODUCT_ID: f"НФ-{row.PRODUCT_ID}" for row in rows}
    codes[103] = None
    return DealSnapshot(
        deal=deal,
        rows=rows,
        buyer=buyer,
        buyer_source=t(Msg.COMPANY_FIRST_REQUISITE, company=14),
        product_codes=codes,
    )


def _draft() -> InvoiceDraft:
    rows = (
        _row(1, PRODUCT_NAME="Ноутбук 14″", PRICE="122000", QUANTITY="2", TAX_RATE="22"),
        _row(2, PRODUCT_NAME="Блок питания", PRICE="90000", QUANTITY="3", TAX_RATE="10"),
    )
    draft = map_deal(_snapshot(rows, BUYER, "514000", "68545.45"), IDENTITY, ON)
    assert isinstance(draft, InvoiceDraft)
    return draft


def _rejection() -> tuple[Text, ...]:
    rows = (
        _row(1, PRODUCT_NAME="Ноутбук 14″", PRICE="122000,00", TAX_RATE="22"),
        _row(2, PRODUCT_NAME="Блок питания", PRICE="90000", TAX_RATE="20"),
        _row(3, PRODUCT_NAME="Сумка", PRICE="3500", TAX_RATE="22"),
    )
    buyer = BUYER.model_copy(update={"RQ_INN": "7707083894"})
    rejected = map_deal(_snapshot(rows, buyer, "215500"), IDENTITY, ON)
    assert isinstance(rejected, Rejection)
    return rejected.problems


def _status_comments() -> list[tuple[str, Text]]:
    """The status sync's comments as a document goes: posted, paid in part, paid in full; a cancelled one; a sale."""
    draft = DocumentState(
        ref="r", found=True, number="БС00-000123", date="2026-12-04T10:15:00", total=Decimal("514000.00")
    )
    first = Payment(receipt="p1", amount=Decimal("300000.00"), date="2026-12-08T00:00:00", number="0000-000045")
    rest = Payment(receipt="p2", amount=Decimal("214000.00"), date="2026-12-15T00:00:00", number="0000-000051")
    posted = replace(draft, posted=True)
    partly = replace(posted, payments=(first,))
    paid = replace(posted, payments=(first, rest))
    cancelled = replace(draft, status="Отменен")
    sale = replace(posted, number="0000-000123", tax_invoice="0000-000098")
    told = Told()
    shown: list[tuple[str, Text]] = []
    for title, state in (("Бухгалтер провёл счёт", posted), ("Счёт оплачен частично", partly),
                         ("Счёт оплачен полностью", paid)):  # fmt: skip
        change = transition(told, state)
        shown.append((title, status_comment("buyer_invoice", state, change)))
        told = change.told
    shown.append(("Счёт отменён в 1С", status_comment("buyer_invoice", cancelled, transition(Told(), cancelled))))
    shown.append(
        (
            "Реализация проведена, выставлен счёт-фактура (DocumentKind=sale_and_tax_invoice)",
            status_comment("sale_and_tax_invoice", sale, transition(Told(), sale)),
        )
    )
    return shown


def samples(language: Language) -> str:
    draft = _draft()
    facts = {"document_kind": "buyer_invoice", "number": "БС00-000123", "document_date": ON, "draft": draft}
    item_missing = t(Msg.ROW_ITEM_NOT_IN_1C, place=t(Msg.ROW_NAMED, number=2, name="Блок питания"),
                     problem=t(Msg.NO_ITEM, code="НФ-102"))  # fmt: skip
    checksum = inn_problem("7707083894")
    assert checksum is not None
    comments: list[tuple[str, Text]] = [
        ("Черновик создан (OnecWebClientUrl задан)",
         document_comment(Msg.COMMENT_CREATED, entity=EntityType.DEAL, link=LINK, **facts)),  # type: ignore[arg-type]
        ("Создан и проведён (OnecPostDocuments=true, DocumentKind=sale_and_tax_invoice)",
         document_comment(Msg.COMMENT_CREATED_POSTED, entity=EntityType.DEAL,
                          **{**facts, "document_kind": "sale_and_tax_invoice"})),  # type: ignore[arg-type]
        ("Сделка изменилась, черновик обновлён",
         document_comment(Msg.COMMENT_UPDATED, entity=EntityType.DEAL, link=LINK, **facts)),  # type: ignore[arg-type]
        ("Новый счёт изменился после проведения",
         document_comment(Msg.COMMENT_CHANGED_AFTER_POSTING, entity=EntityType.INVOICE, **facts)),  # type: ignore[arg-type]
        ("Отказ: что исправить", rejected_comment(EntityType.DEAL, _rejection())),
        ("Проверка перед стадией счёта: всё готово", preflight_comment(EntityType.DEAL, draft, ())),
        ("Проверка перед стадией счёта: замечания",
         preflight_comment(EntityType.INVOICE, draft, (no_counterparty("7707083893", "773601001"), item_missing,
                           t(Msg.PREFLIGHT_VAT_RATE_MISSING, number=1, rate=VatRate.VAT22)))),
        ("1С ждёт администратора", t(Msg.COMMENT_SETUP, entity=EntityType.DEAL)),
        ("Сделка ушла со стадии счёта (OnLeavingTrigger=deletion_mark)",
         withdrawn_comment(deletion_mark=True, entity=EntityType.DEAL, stage="LOSE", document_kind="buyer_invoice",
                           number="БС00-000123", link=LINK)),
        ("Новый счёт ушёл со стадии (OnLeavingTrigger=comment)",
         withdrawn_comment(deletion_mark=False, entity=EntityType.INVOICE, stage="DT31_1:D",
                           document_kind="buyer_invoice", number="БС00-000124")),
    ]  # fmt: skip
    in_1c: list[tuple[str, Text]] = [
        ("Комментарий документа",
         t(Msg.ONEC_DOCUMENT_COMMENT, entity=EntityType.DEAL, title="Поставка ноутбуков и питания", url=URL)),
        ("Отметка об отзыве (дописывается в начало комментария)",
         t(Msg.ONEC_WITHDRAWN_NOTE, entity=EntityType.DEAL, stage="LOSE")),
        ("Комментарий контрагента, созданного мостом", t(Msg.ONEC_COUNTERPARTY_COMMENT)),
    ]  # fmt: skip
    parts = [
        f"# Sample texts ({language.value})\n",
        "Generated by `tests/unit/test_comment_samples.py` from the message catalog "
        "(`shared/invoice_bridge/messages/`); the test fails when the code would say something else.\n",
        "## Bitrix24 timeline comments (BB-code, as sent to `crm.timeline.comment.add`)\n",
    ]
    for title, text in comments:
        parts.append(f"### {title}\n\n```text\n{render(text, language)}\n```\n")
    parts.append("## Bitrix24 timeline comments of the status sync (the document's life in 1C)\n")
    for title, text in _status_comments():
        parts.append(f"### {title}\n\n```text\n{render(text, language)}\n```\n")
    parts.append("## Texts written into 1C\n")
    for title, text in in_1c:
        parts.append(f"### {title}\n\n```text\n{render(text, language)}\n```\n")
    return "\n".join(parts)


@pytest.mark.parametrize("language", list(Language))
def test_samples_match_what_the_code_says(language: Language) -> None:
    path = SAMPLES_DIR / f"comments.{language.value}.md"
    text = samples(language)
    if os.environ.get("UPDATE_SAMPLES") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, (
        f"{path.name} is out of date: UPDATE_SAMPLES=1 .venv/bin/pytest {__file__} and review the diff"
    )


def test_the_rejection_sample_names_card_field_and_value() -> None:
    text = render(rejected_comment(EntityType.DEAL, _rejection()), Language.RU)
    assert "поле «ИНН»: «7707083894» — неверная контрольная цифра" in text
    assert (
        "Товар №1 «Ноутбук 14″», поле «Цена» (PRICE): значение «122000,00» — не число (запятая вместо точки?)" in text
    )
    assert "НДС 20 % не действует на 04.12.2026" in text
    assert "Товар №3 «Сумка»: у товара 103 в каталоге нет внешнего кода (XML_ID)" in text
