"""What the bridge tells a manager in the Bitrix24 timeline, as catalog texts: the 1C document with its number,
date, buyer, sum and VAT and a link that opens it, rejections as a list of what to fix, pre-flight results.
The words are in `messages`; this module picks the text and its facts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from invoice_bridge.events import EntityType
from invoice_bridge.invoice.model import InvoiceDraft, VatRate
from invoice_bridge.messages import Money, Msg, Text, t

DOCUMENT_NAMES = {"buyer_invoice": Msg.DOC_BUYER_INVOICE, "sale_and_tax_invoice": Msg.DOC_SALE}
_RATE_ORDER = list(VatRate)  # as 1C lists Перечисление.СтавкиНДС


def vat_summary(draft: InvoiceDraft) -> Text:
    """«НДС: 68 545,45 ₽ (НДС 22 % — 44 000,00 ₽; НДС 10 % — 24 545,45 ₽)», or «Без НДС»."""
    by_rate: dict[VatRate, Decimal] = {}
    for line in draft.lines:
        by_rate[line.vat_rate] = by_rate.get(line.vat_rate, Decimal(0)) + line.vat_amount
    taxed = sorted((rate for rate in by_rate if rate is not VatRate.WITHOUT_VAT), key=_RATE_ORDER.index)
    if not taxed:
        return t(Msg.VAT_NONE)
    lines: tuple[Text | VatRate, ...] = tuple(
        t(Msg.VAT_LINE, rate=rate, amount=Money(by_rate[rate], draft.currency_code)) for rate in taxed
    )
    if VatRate.WITHOUT_VAT in by_rate:
        lines += (VatRate.WITHOUT_VAT,)
    return t(Msg.VAT_SUMMARY, total=Money(draft.vat_total, draft.currency_code), lines=lines)


def document_comment(
    key: Msg,
    *,
    entity: EntityType,
    document_kind: str,
    number: str,
    document_date: date,
    draft: InvoiceDraft,
    link: str = "",
) -> Text:
    """Created, updated or changed after posting: the document, its buyer, sum and VAT, and the link to it."""
    return t(
        key,
        entity=entity,
        document=t(DOCUMENT_NAMES[document_kind]),
        number=number,
        date=document_date,
        buyer=draft.buyer.name,
        total=Money(draft.total, draft.currency_code),
        vat=vat_summary(draft),
        link=link_text(link),
    )


def withdrawn_comment(
    *, deletion_mark: bool, entity: EntityType, stage: str, document_kind: str, number: str, link: str = ""
) -> Text:
    return t(
        Msg.COMMENT_WITHDRAWN_DELETION_MARK if deletion_mark else Msg.COMMENT_WITHDRAWN_MARKED,
        entity=entity,
        stage=stage,
        document=t(DOCUMENT_NAMES[document_kind]),
        number=number,
        link=link_text(link),
    )


def rejected_comment(entity: EntityType, problems: Sequence[Text]) -> Text:
    return t(Msg.COMMENT_REJECTED, entity=entity, problems=tuple(problems))


def preflight_comment(entity: EntityType, draft: InvoiceDraft | None, problems: Sequence[Text]) -> Text:
    """Ready for invoicing (with what the invoice will say), or the numbered list of what to fix."""
    if problems or draft is None:
        return t(Msg.PREFLIGHT_PROBLEMS, entity=entity, count=len(problems), problems=tuple(problems))
    return t(
        Msg.PREFLIGHT_READY,
        entity=entity,
        buyer=draft.buyer.name,
        total=Money(draft.total, draft.currency_code),
        vat=vat_summary(draft),
    )


def link_text(link: str) -> Text | str:
    return t(Msg.COMMENT_LINK, url=link) if link else ""


def document_date_of(raw: str, fallback: date) -> date:
    """The date 1C gave the document (`2026-12-04T10:15:00`), else the draft's."""
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        return fallback
