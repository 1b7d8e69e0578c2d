"""Transitions between what Bitrix24 was told and 1C's state: each told once, paid only by the turnover."""

from __future__ import annotations

from decimal import Decimal

from invoice_bridge.messages import Language, render
from invoice_bridge.status_sync.comment import status_comment
from invoice_bridge.status_sync.state import (
    DocumentState,
    EventKind,
    Payment,
    Phase,
    StageGoal,
    Told,
    Transition,
    transition,
)

TOTAL = Decimal("1000.00")


def state(*payments: Payment, posted: bool = True, status: str = "", **extra: object) -> DocumentState:
    return DocumentState(
        ref="r", found=True, number="БС00-000001", date="2026-12-04T10:00:00", total=TOTAL, posted=posted,
        status=status, payments=payments, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def pay(receipt: str, amount: str) -> Payment:
    return Payment(receipt=receipt, amount=Decimal(amount), date="2026-12-05T09:00:00", number=f"N{receipt}")


def test_each_transition_is_told_once() -> None:
    told = Told()
    steps = [state(), state(pay("a", "300")), state(pay("a", "300"), pay("b", "700"))]
    seen = []
    for current in steps:
        change = transition(told, current)
        seen.append(change.events)
        told = change.told
        assert transition(told, current).events == ()  # the same state again: nothing to tell
    assert seen == [(EventKind.POSTED,), (EventKind.PAID_IN_PART,), (EventKind.PAID_IN_FULL,)]
    assert transition(told, steps[-1]).final


def test_status_set_to_paid_by_hand_is_not_paid() -> None:
    current = state(status="Оплачен")
    assert current.phase is Phase.POSTED
    change = transition(Told(), current)
    assert change.events == (EventKind.POSTED,)
    assert not change.final
    assert change.stage_goal is StageGoal.NONE


def test_going_backwards_is_told_but_the_stage_stays_unless_allowed() -> None:
    told = transition(Told(), state(pay("a", "1000"))).told
    assert told.stage is StageGoal.PAID
    back = transition(told, state(posted=False))
    assert back.events == (EventKind.PAYMENT_CANCELLED, EventKind.UNPOSTED)
    assert back.stage_goal is StageGoal.NONE
    assert back.told.stage is StageGoal.PAID
    partly = transition(told, state(pay("b", "10")), allow_backwards=True)
    assert partly.stage_goal is StageGoal.PARTLY_PAID


def test_cancelled_and_deleted_are_final_and_told_once() -> None:
    cancelled = transition(Told(posted=True), state(status="Отменен"))
    assert cancelled.events == (EventKind.CANCELLED,)
    assert cancelled.final
    assert transition(cancelled.told, state(status="Отменен")).events == ()
    gone = transition(Told(), DocumentState(ref="r", found=False))
    assert gone.events == (EventKind.DELETED,)
    assert gone.final


def comment(profile: str, current: DocumentState, change: Transition, language: Language = Language.RU) -> str:
    return render(status_comment(profile, current, change, number="БС00-000001"), language)


def test_the_comment_names_the_amounts_and_the_payment() -> None:
    change = transition(Told(posted=True), state(pay("a", "300.5")))
    text = comment("buyer_invoice", state(pay("a", "300.5")), change)
    assert text == (
        "[B]Счёт на оплату покупателю № БС00-000001 от 04.12.2026[/B] оплачен частично: 300,50\u00a0₽ из "
        "1\u00a0000,00\u00a0₽ (платёж № Na от 05.12.2026 на 300,50\u00a0₽)."
    )
    assert comment("buyer_invoice", state(pay("a", "300.5")), change, Language.EN) == (
        "[B]Buyer invoice БС00-000001 of 04.12.2026[/B] was paid in part: 300.50\u00a0RUB of 1,000.00\u00a0RUB "
        "(payment Na of 05.12.2026 for 300.50\u00a0RUB)."
    )


def test_one_line_per_event_in_the_order_told() -> None:
    current = state(pay("a", "600"), Payment(receipt="b", amount=Decimal(400), date="2026-12-06T00:00:00"))
    lines = comment("buyer_invoice", current, transition(Told(), current)).split("\n")
    assert [line.split("[/B] ")[1].split(":")[0] for line in lines] == [
        "на 1\u00a0000,00\u00a0₽ проведён бухгалтером в 1С.",
        "оплачен полностью",
    ]
    assert lines[1].endswith("(платёж № Na от 05.12.2026 на 600,00\u00a0₽; платёж от 06.12.2026 на 400,00\u00a0₽).")


def test_sale_with_its_tax_invoice() -> None:
    current = state(tax_invoice="0000-000007")
    change = transition(Told(), current)
    assert change.events == (EventKind.POSTED, EventKind.TAX_INVOICE)
    text = comment("sale_and_tax_invoice", current, change)
    assert text.startswith("[B]Реализация (акт, накладная, УПД) № БС00-000001 от 04.12.2026[/B] на ")
    assert " проведена бухгалтером в 1С.\n" in text
    assert text.endswith("[/B] выставлен счёт-фактура № 0000-000007.")


def test_the_participle_agrees_with_the_document_kind() -> None:
    cancelled = state(status="Отменен")
    change = transition(Told(posted=True), cancelled)
    assert "[/B] отменён в 1С (статус «Отменен»)." in comment("buyer_invoice", cancelled, change)
    assert "[/B] отменена в 1С (статус «Отменен»)." in comment("sale_and_tax_invoice", cancelled, change)


def test_a_document_gone_from_1c_is_named_by_the_ledgers_number() -> None:
    gone = DocumentState(ref="r", found=False)
    change = transition(Told(posted=True), gone)
    assert (
        comment("buyer_invoice", gone, change)
        == "[B]Счёт на оплату покупателю № БС00-000001[/B] больше не найден в 1С."
    )
    assert comment("sale_and_tax_invoice", gone, change).endswith("[/B] больше не найдена в 1С.")
    marked = state(deletion_mark=True)
    assert comment("buyer_invoice", marked, transition(Told(), marked)).endswith("[/B] помечен на удаление в 1С.")
