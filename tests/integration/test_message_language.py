"""Through the real handlers: managers and accountants read Russian by default, English with Language=en."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from invoice_bridge.onec.navigation import navigation_ref
from local.stack import LocalStack
from tests.integration.test_bridge_end_to_end import drafts_for, drain, post, webhook
from tests.unit.test_messages import english_words

NBSP = "\u00a0"


def _run(stack: LocalStack) -> dict[int, str]:
    for deal_id in (1001, 1005):  # a good deal, and one whose buyer INN has a wrong check digit
        post(stack, webhook(deal_id))
    drain(stack)
    return {comment.entity_id: comment.comment for comment in stack.bitrix.timeline_comments}


@pytest.fixture
def english_stack() -> Iterator[LocalStack]:
    local = LocalStack(parameter_overrides={"Language": "en"}).start(poll=False)
    try:
        yield local
    finally:
        local.stop()


def test_russian_by_default(stack: LocalStack) -> None:
    comments = _run(stack)
    [draft] = drafts_for(stack, 1001)
    created = comments[1001]
    assert created.startswith(f"В 1С создан черновик [B]Счёт на оплату покупателю № {draft['Number']} от ")
    assert f"[*]Сумма: [B]514{NBSP}000,00{NBSP}₽[/B]\n[*]НДС: 68{NBSP}545,45{NBSP}₽ (НДС 22 % — " in created
    assert "[URL=" not in created  # no OnecWebClientUrl, no link
    rejected = comments[1005]
    assert rejected.startswith(
        "[B]Черновик счёта в 1С не создан.[/B] Исправьте и сохраните сделку ещё раз:\n[LIST=1]\n[*]"
    )
    assert "поле «ИНН»: «7707083894» — неверная контрольная цифра" in rejected
    document_comment = str(draft["Комментарий"])
    assert document_comment.startswith("Черновик из Bitrix24, ожидает проверки бухгалтером. Сделка «")
    for text in (created, rejected, document_comment):
        assert not english_words(text), text


def test_the_status_sync_speaks_russian_by_default(stack: LocalStack) -> None:
    _run(stack)
    [draft] = drafts_for(stack, 1001)
    stack.onec.accountant.post(str(draft["Ref_Key"]))
    stack.run_status_sync()
    told = stack.bitrix.timeline_comments[-1]
    assert told.entity_id == 1001
    assert told.comment.startswith(f"[B]Счёт на оплату покупателю № {draft['Number']} от ")
    assert told.comment.endswith(f"[/B] на 514{NBSP}000,00{NBSP}₽ проведён бухгалтером в 1С.")
    assert not english_words(told.comment)


def test_the_status_sync_speaks_english_when_configured(english_stack: LocalStack) -> None:
    _run(english_stack)
    [draft] = drafts_for(english_stack, 1001)
    ref = str(draft["Ref_Key"])
    english_stack.onec.accountant.post(ref)
    english_stack.onec.accountant.record_receipt(ref, Decimal("100000.00"))
    english_stack.run_status_sync()
    told = english_stack.bitrix.timeline_comments[-1]
    assert told.entity_id == 1001
    posted, paid = told.comment.split("\n")
    assert posted == (
        f"[B]Buyer invoice {draft['Number']} of {_day(draft)}[/B] for 514,000.00{NBSP}RUB was posted by the "
        "accountant in 1C."
    )
    assert paid.startswith(
        f"[B]Buyer invoice {draft['Number']} of {_day(draft)}[/B] was paid in part: 100,000.00{NBSP}RUB of "
        f"514,000.00{NBSP}RUB (payment "
    )


def _day(draft: dict[str, object]) -> str:
    year, month, day = str(draft["Date"])[:10].split("-")
    return f"{day}.{month}.{year}"


def test_english_when_configured(english_stack: LocalStack) -> None:
    comments = _run(english_stack)
    [draft] = drafts_for(english_stack, 1001)
    assert comments[1001].startswith(f"Draft [B]buyer invoice {draft['Number']} of ")
    assert f"[*]Total: [B]514,000.00{NBSP}RUB[/B]\n[*]VAT: 68,545.45{NBSP}RUB (VAT 22 % — " in comments[1001]
    assert comments[1005].startswith(
        "[B]The 1C invoice draft was not created.[/B] Fix this and save the deal again:\n[LIST=1]\n[*]"
    )
    assert "7707083894 has a wrong check digit" in comments[1005]
    assert str(draft["Комментарий"]).startswith("Draft from Bitrix24, pending review by the accountant. Deal «")


@pytest.fixture
def linked_stack() -> Iterator[LocalStack]:
    local = LocalStack(parameter_overrides={"OnecWebClientUrl": "https://1c.example.ru/buh/"}).start(poll=False)
    try:
        yield local
    finally:
        local.stop()


def test_the_comment_links_to_the_document_in_the_1c_web_client(linked_stack: LocalStack) -> None:
    comments = _run(linked_stack)
    [draft] = drafts_for(linked_stack, 1001)
    ref = navigation_ref(str(draft["Ref_Key"]))
    link = f"[URL=https://1c.example.ru/buh/#e1cib/data/Документ.СчетНаОплатуПокупателю?ref={ref}]Открыть в 1С[/URL]"
    assert comments[1001].endswith(f"[/LIST]\n{link}")
    assert "[URL=" not in comments[1005]  # nothing to open for a rejection
