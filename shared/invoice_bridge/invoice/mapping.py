"""From a deal snapshot to an invoice draft, or to the list of everything a manager must fix first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from invoice_bridge.bitrix24.records import BadNumber, ProductRowRecord, RequisiteRecord
from invoice_bridge.bitrix24.snapshot import DealSnapshot
from invoice_bridge.events import EntityType
from invoice_bridge.invoice.lines import PricedRow, document_lines
from invoice_bridge.invoice.model import Buyer, InvoiceDraft, VatRate
from invoice_bridge.invoice.vat import vat_rate_on
from invoice_bridge.messages import Money, Msg, Text, t
from invoice_bridge.money import amount_problem, exclusive_price, line_amounts, percent_problem, quantity_problem
from invoice_bridge.requisites import inn_problem, kpp_problem, normalise_inn

# Bitrix24 currency id → 1C Catalog_Валюты.Code
CURRENCY_CODES = {"RUB": "643"}


@dataclass(frozen=True)
class Rejection:
    problems: tuple[Text, ...]
    # the cross-checks against Bitrix24's own figures that failed ("amount", "tax"): counted as a metric
    mismatches: tuple[str, ...] = ()


@dataclass(frozen=True)
class DealIdentity:
    ledger_key: str
    external_key: str
    url: str
    entity: EntityType = EntityType.DEAL  # what the manager calls it in messages: a deal or an invoice


def map_deal(snapshot: DealSnapshot, identity: DealIdentity, document_date: date) -> InvoiceDraft | Rejection:
    problems: list[Text] = list(snapshot.problems)
    entity = identity.entity
    buyer = _buyer(snapshot, entity, problems)
    _check_seller(snapshot.seller, entity, problems)
    place = t(Msg.ENTITY, entity=entity)
    opportunity = _figure(place, Msg.FIELD_AMOUNT, "OPPORTUNITY", snapshot.deal.OPPORTUNITY, amount_problem, problems)
    tax_value = _figure(place, Msg.FIELD_TAX_AMOUNT, "TAX_VALUE", snapshot.deal.TAX_VALUE, amount_problem, problems)

    currency_code = CURRENCY_CODES.get(snapshot.deal.CURRENCY_ID)
    if currency_code is None:
        problems.append(
            t(
                Msg.CURRENCY_NOT_CONFIGURED,
                entity=entity,
                currency=snapshot.deal.CURRENCY_ID or "—",
                supported=", ".join(CURRENCY_CODES),
            )
        )

    if not snapshot.rows:
        problems.append(t(Msg.NO_ROWS, entity=entity))
    rows = [
        priced
        for index, row in enumerate(snapshot.rows, start=1)
        if (priced := _row(index, row, snapshot, document_date, problems)) is not None
    ]
    amounts_include_vat, lines = document_lines(rows, entity, problems)
    money_code = currency_code or snapshot.deal.CURRENCY_ID
    total = sum((row.amounts.total for row in rows), Decimal(0))
    vat_total = sum((row.amounts.vat for row in rows), Decimal(0))
    mismatches: list[str] = []
    all_rows_priced = bool(rows) and len(rows) == len(snapshot.rows) and not snapshot.problems
    if all_rows_priced and opportunity is not None and not snapshot.deal.manual_opportunity and total != opportunity:
        mismatches.append("amount")
        problems.append(
            t(
                Msg.ROWS_SUM_MISMATCH,
                entity=entity,
                rows_total=Money(total, money_code),
                amount=Money(opportunity, money_code),
            )
        )
    # Bitrix24 recomputes TAX_VALUE from the rows also when the amount is manual (reference bitrix24.md §4.2)
    if all_rows_priced and tax_value is not None and vat_total != tax_value:
        mismatches.append("tax")
        problems.append(
            t(
                Msg.ROWS_VAT_MISMATCH,
                entity=entity,
                rows_vat=Money(vat_total, money_code),
                tax=Money(tax_value, money_code),
            )
        )
    if problems or buyer is None or currency_code is None:
        return Rejection(tuple(problems), tuple(mismatches))
    return InvoiceDraft(
        ledger_key=identity.ledger_key,
        external_key=identity.external_key,
        source_title=snapshot.deal.TITLE,
        source_url=identity.url,
        source_entity=entity,
        document_date=document_date,
        currency_code=currency_code,
        buyer=buyer,
        amounts_include_vat=amounts_include_vat,
        lines=tuple(lines),
        total=total,
        vat_total=vat_total,
    )


def _buyer(snapshot: DealSnapshot, entity: EntityType, problems: list[Text]) -> Buyer | None:
    requisite: RequisiteRecord | None = snapshot.buyer
    if requisite is None and snapshot.buyer_unreadable:
        return None  # its problems are listed already
    if requisite is None:
        problems.append(t(Msg.NO_BUYER, entity=entity))
        return None
    where = t(Msg.REQUISITE, name=requisite.NAME or requisite.ID, source=snapshot.buyer_source)
    inn = normalise_inn(requisite.RQ_INN)
    if inn != requisite.RQ_INN:
        problems.append(t(Msg.INN_HAS_SEPARATORS, raw=requisite.RQ_INN, place=where, inn=inn))
    if (problem := inn_problem(inn)) is not None:
        problems.append(t(Msg.INN_PROBLEM, place=where, problem=problem))
    kpp = requisite.RQ_KPP.strip()
    # companies (10-digit INN) need a KPP; a KPP that is there is checked unless the buyer is clearly an individual
    needs_kpp = len(inn) == 10 or (bool(kpp) and len(inn) != 12)
    if needs_kpp and (problem := kpp_problem(kpp)) is not None:
        problems.append(t(Msg.KPP_PROBLEM, place=where, problem=problem))
    if len(inn) == 12:
        kpp = ""
    name = requisite.display_name
    return Buyer(name=name, full_name=requisite.RQ_COMPANY_FULL_NAME or name, inn=inn, kpp=kpp)


def _row(
    number: int, row: ProductRowRecord, snapshot: DealSnapshot, document_date: date, problems: list[Text]
) -> PricedRow | None:
    label = t(Msg.ROW_NAMED, number=number, name=row.PRODUCT_NAME)
    before = len(problems)
    # A free-text row (no catalog product) becomes a service line described by its name.
    code = snapshot.product_codes.get(row.PRODUCT_ID) if row.PRODUCT_ID else ""
    if row.PRODUCT_ID and not code:
        problems.append(t(Msg.ROW_NO_CODE, place=label, product=row.PRODUCT_ID))
    if not row.PRODUCT_ID and not row.PRODUCT_NAME.strip():
        problems.append(t(Msg.ROW_NO_NAME, number=number))
    price = _figure(label, Msg.FIELD_PRICE, "PRICE", row.PRICE, amount_problem, problems)
    quantity = _figure(label, Msg.FIELD_QUANTITY, "QUANTITY", row.QUANTITY, quantity_problem, problems)
    given_exclusive = (
        _figure(label, Msg.FIELD_PRICE_EXCLUSIVE, "PRICE_EXCLUSIVE", row.PRICE_EXCLUSIVE, amount_problem, problems)
        if row.PRICE_EXCLUSIVE is not None
        else None
    )
    _figure(label, Msg.FIELD_DISCOUNT, "DISCOUNT_RATE", row.DISCOUNT_RATE, percent_problem, problems)
    tax_rate = (
        _figure(label, Msg.FIELD_VAT_RATE, "TAX_RATE", row.TAX_RATE, amount_problem, problems)
        if row.TAX_RATE is not None
        else None
    )
    if row.TAX_INCLUDED not in ("Y", "N"):
        problems.append(t(Msg.ROW_TAX_INCLUDED, place=label, value=row.TAX_INCLUDED))
    if quantity is not None and quantity <= 0:
        problems.append(t(Msg.ROW_QUANTITY_NOT_POSITIVE, place=label, quantity=quantity))
    if price is not None and price < 0:
        problems.append(t(Msg.ROW_NEGATIVE_PRICE, place=label, price=price))
    rate = vat_rate_on(tax_rate, document_date) if tax_rate is not None or row.TAX_RATE is None else None
    if rate is not None and not isinstance(rate, VatRate):
        problems.append(t(Msg.ROW_VAT, place=label, problem=rate))
    if len(problems) > before or code is None or not isinstance(rate, VatRate) or price is None or quantity is None:
        return None
    price_exclusive = given_exclusive if given_exclusive is not None else exclusive_price(price, tax_rate)
    amounts = line_amounts(
        price=price,
        price_exclusive=price_exclusive,
        quantity=quantity,
        rate=tax_rate,
        tax_included=row.tax_included,
    )
    return PricedRow(
        number=number,
        label=label,
        product_code=code,
        description=row.PRODUCT_NAME,
        quantity=quantity,
        price=price,
        price_exclusive=price_exclusive,
        vat_rate=rate,
        tax_included=row.tax_included,
        amounts=amounts,
    )


def _figure(
    label: Text,
    title: Msg,
    name: str,
    raw: Decimal | BadNumber,
    check: Callable[[Decimal], Text | None],
    problems: list[Text],
) -> Decimal | None:
    """The number, or None with a problem naming where it is (`label`), the field and the value."""
    if isinstance(raw, BadNumber):
        problems.append(
            t(Msg.BAD_FIGURE, place=label, title=t(title), field=name, value=raw.shown(), reason=raw.reason)
        )
        return None
    if (problem := check(raw)) is not None:
        problems.append(t(Msg.BAD_FIGURE, place=label, title=t(title), field=name, value=str(raw), reason=problem))
        return None
    return raw


def _check_seller(seller: RequisiteRecord | None, entity: EntityType, problems: list[Text]) -> None:
    """The seller chosen in the deal decides the 1C organisation, so its INN must be usable."""
    if seller is None:
        return
    where = t(Msg.SELLER_REQUISITE, name=seller.NAME or seller.ID, entity=entity)
    inn = normalise_inn(seller.RQ_INN)
    if not inn:
        problems.append(t(Msg.SELLER_NO_INN, place=where))
    elif (problem := inn_problem(inn)) is not None:
        problems.append(t(Msg.INN_PROBLEM, place=where, problem=problem))
