"""A document's state as read from 1C, what Bitrix24 was last told about it, and the transitions between them.

Paid means the `ОплатаСчетов` turnover against the document reaches its total: a status set to «Оплачен» by hand
without payments is not paid (reference/onec.md §7: BP recomputes only unpaid and partly paid invoices, so a
status set by hand sticks, and the status alone is not to be trusted).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

CANCELLED_STATUS = "Отменен"  # Перечисление.СтатусОплатыСчета


class Phase(StrEnum):
    DRAFT = "draft"
    POSTED = "posted"
    PARTLY_PAID = "partly_paid"
    PAID = "paid"
    CANCELLED = "cancelled"
    DELETED = "deleted"


FINAL_PHASES = frozenset({Phase.PAID, Phase.CANCELLED, Phase.DELETED})


class StageGoal(StrEnum):
    """How far the entity's stage has been moved by the status sync."""

    NONE = ""
    PARTLY_PAID = "partly_paid"
    PAID = "paid"


_GOAL_ORDER = {StageGoal.NONE: 0, StageGoal.PARTLY_PAID: 1, StageGoal.PAID: 2}


@dataclass(frozen=True)
class Payment:
    """One receipt's share of the document's `ОплатаСчетов` turnover."""

    receipt: str  # the receipt's Ref_Key (the register record's Recorder)
    amount: Decimal
    date: str  # the record's Period, 1C's local time "YYYY-MM-DDTHH:MM:SS"
    number: str = ""  # the receipt's number, read from its header


@dataclass(frozen=True)
class DocumentState:
    """What 1C says about one document now."""

    ref: str
    found: bool
    number: str = ""
    date: str = ""
    total: Decimal = Decimal(0)
    posted: bool = False
    deletion_mark: bool = False
    status: str = ""  # СтатусыДокументов.Статус; "" when the register holds no record
    payments: tuple[Payment, ...] = ()
    tax_invoice: str = ""  # sale profile: the number of the tax invoice issued on the sale

    @property
    def paid(self) -> Decimal:
        return sum((payment.amount for payment in self.payments), Decimal(0))

    @property
    def phase(self) -> Phase:
        if not self.found or self.deletion_mark:
            return Phase.DELETED
        if self.status == CANCELLED_STATUS:
            return Phase.CANCELLED
        if self.total > 0 and self.paid >= self.total:
            return Phase.PAID
        if self.paid > 0:
            return Phase.PARTLY_PAID
        return Phase.POSTED if self.posted else Phase.DRAFT

    @property
    def stage_goal(self) -> StageGoal:
        phase = self.phase
        if phase is Phase.PAID:
            return StageGoal.PAID
        if phase is Phase.PARTLY_PAID:
            return StageGoal.PARTLY_PAID
        return StageGoal.NONE


@dataclass(frozen=True)
class Told:
    """What Bitrix24 has been told about the document: kept in the ledger item as JSON (`sync_told`)."""

    posted: bool = False
    payments: tuple[tuple[str, str], ...] = ()  # (receipt, amount) pairs
    cancelled: bool = False
    deleted: bool = False
    tax_invoice: str = ""
    stage: StageGoal = StageGoal.NONE

    def dump(self) -> str:
        return json.dumps(
            {
                "posted": self.posted,
                "payments": [list(pair) for pair in self.payments],
                "cancelled": self.cancelled,
                "deleted": self.deleted,
                "tax_invoice": self.tax_invoice,
                "stage": self.stage.value,
            },
            ensure_ascii=False,
            sort_keys=True,
        )

    @classmethod
    def load(cls, text: str) -> Told:
        if not text:
            return cls()
        raw = json.loads(text)
        return cls(
            posted=bool(raw.get("posted")),
            payments=tuple((str(r), str(a)) for r, a in raw.get("payments", [])),
            cancelled=bool(raw.get("cancelled")),
            deleted=bool(raw.get("deleted")),
            tax_invoice=str(raw.get("tax_invoice", "")),
            stage=StageGoal(raw.get("stage", "")),
        )


class EventKind(StrEnum):
    POSTED = "posted"
    UNPOSTED = "unposted"
    PAID_IN_PART = "paid_in_part"
    PAID_IN_FULL = "paid_in_full"
    PAYMENT_CANCELLED = "payment_cancelled"
    CANCELLED = "cancelled"
    DELETED = "deleted"
    TAX_INVOICE = "tax_invoice"


@dataclass(frozen=True)
class Transition:
    events: tuple[EventKind, ...]
    new_payments: tuple[Payment, ...]
    cancelled_payments: tuple[tuple[str, Decimal], ...]
    told: Told  # what Bitrix24 knows once this transition is told
    stage_goal: StageGoal  # where the stage should be moved; NONE when it stays
    final: bool  # the document leaves the sweep
    backwards: bool = False  # the stage goal is behind what was told (a payment cancelled)
    notes: tuple[str, ...] = field(default=())

    @property
    def changed(self) -> bool:
        return bool(self.events) or self.stage_goal is not StageGoal.NONE


def transition(told: Told, state: DocumentState, *, allow_backwards: bool = False) -> Transition:
    """The events between what Bitrix24 was told and 1C's state now, in the order a person would tell them."""
    events: list[EventKind] = []
    phase = state.phase
    known = dict(told.payments)
    current = {payment.receipt: payment for payment in state.payments}
    new_payments = tuple(payment for payment in state.payments if payment.receipt not in known)
    cancelled = tuple((receipt, Decimal(amount)) for receipt, amount in told.payments if receipt not in current)
    if phase is Phase.DELETED:
        if not told.deleted:
            events.append(EventKind.DELETED)
    elif phase is Phase.CANCELLED:
        if not told.cancelled:
            events.append(EventKind.CANCELLED)
    else:
        if state.posted and not told.posted:
            events.append(EventKind.POSTED)
        if state.tax_invoice and state.tax_invoice != told.tax_invoice:
            events.append(EventKind.TAX_INVOICE)
        if cancelled:
            events.append(EventKind.PAYMENT_CANCELLED)
        if new_payments:
            events.append(EventKind.PAID_IN_FULL if phase is Phase.PAID else EventKind.PAID_IN_PART)
        elif cancelled and phase is Phase.PAID:
            events.append(EventKind.PAID_IN_FULL)
        if told.posted and not state.posted:
            events.append(EventKind.UNPOSTED)
    goal = state.stage_goal
    forward = _GOAL_ORDER[goal] > _GOAL_ORDER[told.stage]
    backwards = _GOAL_ORDER[goal] < _GOAL_ORDER[told.stage] and phase not in (Phase.DELETED, Phase.CANCELLED)
    move = goal if forward or (backwards and allow_backwards and goal is not StageGoal.NONE) else StageGoal.NONE
    new_told = Told(
        posted=state.posted if phase not in (Phase.DELETED, Phase.CANCELLED) else told.posted,
        payments=tuple((payment.receipt, str(payment.amount)) for payment in state.payments),
        cancelled=told.cancelled or phase is Phase.CANCELLED,
        deleted=told.deleted or phase is Phase.DELETED,
        tax_invoice=state.tax_invoice or told.tax_invoice,
        stage=move if move is not StageGoal.NONE else (goal if backwards and allow_backwards else told.stage),
    )
    return Transition(
        events=tuple(events),
        new_payments=new_payments,
        cancelled_payments=cancelled,
        told=new_told,
        stage_goal=move,
        final=phase in FINAL_PHASES,
        backwards=backwards,
    )
