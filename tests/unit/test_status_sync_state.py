"""Transitions between what Bitrix24 was told and 1C's state: each told once, paid only by the turnover."""

from __future__ import annotations

from decimal import Decimal

from invoice_bridge.status_sync.state import (
    DocumentState,
    EventKind,
    Payment,
    Phase,
    StageGoal,
    Told,
    transition,
)
from invoice_bridge.status_sync.texts import comment, money

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


def test_the_comment_names_the_amounts_and_the_payment() -> None:
    change = transition(Told(posted=True), state(pay("a", "300.5")))
    text = comment("buyer_invoice", state(pay("a", "300.5")), change)
    assert text == (
        "Счёт № БС00-000001 от 04.12.2026 оплачен частично: 300,50\u00a0₽ из 1\u00a0000,00\u00a0₽ "
        "(платёж № Na от 05.12.2026 на 300,50\u00a0₽)."
    )


def test_sale_with_its_tax_invoice() -> None:
    current = state(tax_invoice="0000-000007")
    change = transition(Told(), current)
    assert change.events == (EventKind.POSTED, EventKind.TAX_INVOICE)
    assert "счёт-фактура № 0000-000007" in comment("sale_and_tax_invoice", current, change)


def test_money_is_russian() -> None:
    assert money(Decimal("1234567.891")) == "1\u00a0234\u00a0567,89\u00a0₽"
    assert money(Decimal(0)) == "0,00\u00a0₽"
