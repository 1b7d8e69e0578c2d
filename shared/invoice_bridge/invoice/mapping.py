"""From a deal snapshot to an invoice draft, or to the list of everything a manager must fix first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from invoice_bridge.bitrix24.records import BadNumber, ProductRowRecord, RequisiteRecord
from invoice_bridge.bitrix24.snapshot import DealSnapshot
from invoice_bridge.invoice.lines import PricedRow, document_lines
from invoice_bridge.invoice.model import Buyer, InvoiceDraft, VatRate
from invoice_bridge.invoice.vat import vat_rate_on
from invoice_bridge.money import amount_problem, exclusive_price, line_amounts, percent_problem, quantity_problem
from invoice_bridge.requisites import inn_problem, kpp_problem, normalise_inn

# Bitrix24 currency id → 1C Catalog_Валюты.Code
CURRENCY_CODES = {"RUB": "643"}


@dataclass(frozen=True)
class Rejection:
    problems: tuple[str, ...]
    # the cross-checks against Bitrix24's own figures that failed ("amount", "tax"): counted as a metric
    mismatches: tuple[str, ...] = ()


@dataclass(frozen=True)
class DealIdentity:
    ledger_key: str
    external_key: str
    url: str
    noun: str = "deal"  # what the manager calls it in messages: deal or invoice


def map_deal(snapshot: DealSnapshot, identity: DealIdentity, document_date: date) -> InvoiceDraft | Rejection:
    problems: list[str] = list(snapshot.problems)
    buyer = _buyer(snapshot, identity.noun, problems)
    _check_seller(snapshot.seller, identity.noun, problems)
    noun = identity.noun
    opportunity = _figure(f"the {noun}", "amount", "OPPORTUNITY", snapshot.deal.OPPORTUNITY, amount_problem, problems)
    tax_value = _figure(f"the {noun}", "tax amount", "TAX_VALUE", snapshot.deal.TAX_VALUE, amount_problem, problems)

    currency_code = CURRENCY_CODES.get(snapshot.deal.CURRENCY_ID)
    if currency_code is None:
        problems.append(
            f"{identity.noun} currency {snapshot.deal.CURRENCY_ID or '(empty)'} is not configured; "
            f"the bridge invoices in {', '.join(CURRENCY_CODES)}"
        )

    if not snapshot.rows:
        problems.append(f"the {identity.noun} has no product rows; add the products being sold")
    rows = [
        priced
        for index, row in enumerate(snapshot.rows, start=1)
        if (priced := _row(index, row, snapshot, document_date, problems)) is not None
    ]
    amounts_include_vat, lines = document_lines(rows, noun, problems)
    total = sum((row.amounts.total for row in rows), Decimal(0))
    vat_total = sum((row.amounts.vat for row in rows), Decimal(0))
    mismatches: list[str] = []
    all_rows_priced = bool(rows) and len(rows) == len(snapshot.rows) and not snapshot.problems
    if all_rows_priced and opportunity is not None and not snapshot.deal.manual_opportunity and total != opportunity:
        mismatches.append("amount")
        problems.append(
            f"the rows add up to {total:.2f} but the {noun} amount is {opportunity:.2f}; "
            f"open the {noun}'s products and save them again so the amount is recalculated"
        )
    # Bitrix24 recomputes TAX_VALUE from the rows also when the amount is manual (reference bitrix24.md §4.2)
    if all_rows_priced and tax_value is not None and vat_total != tax_value:
        mismatches.append("tax")
        problems.append(
            f"the rows' VAT adds up to {vat_total:.2f} but the {noun}'s tax amount is {tax_value:.2f}; "
            f"open the {noun}'s products and save them again so the tax is recalculated, or check the "
            "portal's tax settings (location-based taxes are not supported)"
        )
    if problems or buyer is None or currency_code is None:
        return Rejection(tuple(problems), tuple(mismatches))
    return InvoiceDraft(
        ledger_key=identity.ledger_key,
        external_key=identity.external_key,
        source_title=snapshot.deal.TITLE,
        source_url=identity.url,
        document_date=document_date,
        currency_code=currency_code,
        buyer=buyer,
        amounts_include_vat=amounts_include_vat,
        lines=tuple(lines),
        total=total,
        vat_total=vat_total,
    )


def _buyer(snapshot: DealSnapshot, noun: str, problems: list[str]) -> Buyer | None:
    requisite: RequisiteRecord | None = snapshot.buyer
    if requisite is None and snapshot.buyer_unreadable:
        return None  # its problems are listed already
    if requisite is None:
        problems.append(
            f"the {noun} has no buyer with requisites: choose a company in the {noun} and fill in its requisites "
            "(INN, KPP)"
        )
        return None
    where = f"requisite «{requisite.NAME or requisite.ID}» ({snapshot.buyer_source})"
    inn = normalise_inn(requisite.RQ_INN)
    if inn != requisite.RQ_INN:
        problems.append(f"INN «{requisite.RQ_INN}» in {where} contains spaces or dashes; write it as {inn}")
    if (problem := inn_problem(inn)) is not None:
        problems.append(f"INN in {where} {problem}")
    kpp = requisite.RQ_KPP.strip()
    # companies (10-digit INN) need a KPP; a KPP that is there is checked unless the buyer is clearly an individual
    needs_kpp = len(inn) == 10 or (bool(kpp) and len(inn) != 12)
    if needs_kpp and (problem := kpp_problem(kpp)) is not None:
        problems.append(f"KPP in {where} {problem}")
    if len(inn) == 12:
        kpp = ""
    name = requisite.display_name
    return Buyer(name=name, full_name=requisite.RQ_COMPANY_FULL_NAME or name, inn=inn, kpp=kpp)


def _row(
    number: int, row: ProductRowRecord, snapshot: DealSnapshot, document_date: date, problems: list[str]
) -> PricedRow | None:
    label = f"row {number} «{row.PRODUCT_NAME}»"
    before = len(problems)
    # A free-text row (no catalog product) becomes a service line described by its name.
    code = snapshot.product_codes.get(row.PRODUCT_ID) if row.PRODUCT_ID else ""
    if row.PRODUCT_ID and not code:
        problems.append(f"{label}: product {row.PRODUCT_ID} has no external code (xmlId) to find it in 1C")
    if not row.PRODUCT_ID and not row.PRODUCT_NAME.strip():
        problems.append(f"row {number} has neither a catalog product nor a name; describe the service")
    price = _figure(label, "price", "PRICE", row.PRICE, amount_problem, problems)
    quantity = _figure(label, "quantity", "QUANTITY", row.QUANTITY, quantity_problem, problems)
    given_exclusive = (
        _figure(label, "price without VAT", "PRICE_EXCLUSIVE", row.PRICE_EXCLUSIVE, amount_problem, problems)
        if row.PRICE_EXCLUSIVE is not None
        else None
    )
    _figure(label, "discount", "DISCOUNT_RATE", row.DISCOUNT_RATE, percent_problem, problems)
    tax_rate = (
        _figure(label, "VAT rate", "TAX_RATE", row.TAX_RATE, amount_problem, problems)
        if row.TAX_RATE is not None
        else None
    )
    if row.TAX_INCLUDED not in ("Y", "N"):
        problems.append(f"{label}: «tax included» (TAX_INCLUDED) «{row.TAX_INCLUDED}» is neither Y nor N")
    if quantity is not None and quantity <= 0:
        problems.append(f"{label} has quantity {quantity}; it must be above zero")
    if price is not None and price < 0:
        problems.append(f"{label} has a negative price {price}")
    rate = vat_rate_on(tax_rate, document_date) if tax_rate is not None or row.TAX_RATE is None else None
    if rate is not None and not isinstance(rate, VatRate):
        problems.append(f"{label}: {rate}")
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
    label: str,
    title: str,
    name: str,
    raw: Decimal | BadNumber,
    check: Callable[[Decimal], str | None],
    problems: list[str],
) -> Decimal | None:
    """The number, or None with a problem naming where it is (`label`), the field and the value."""
    if isinstance(raw, BadNumber):
        problems.append(f"{label}: {title} ({name}) «{raw.shown()}» {raw.reason}")
        return None
    if (problem := check(raw)) is not None:
        problems.append(f"{label}: {title} ({name}) «{raw}» {problem}")
        return None
    return raw


def _check_seller(seller: RequisiteRecord | None, noun: str, problems: list[str]) -> None:
    """The seller chosen in the deal decides the 1C organisation, so its INN must be usable."""
    if seller is None:
        return
    where = f"the seller's requisite «{seller.NAME or seller.ID}» (your company chosen in the {noun})"
    inn = normalise_inn(seller.RQ_INN)
    if not inn:
        problems.append(f"{where} has no INN; fill in your company's INN there or choose another requisite")
    elif (problem := inn_problem(inn)) is not None:
        problems.append(f"INN in {where} {problem}")
