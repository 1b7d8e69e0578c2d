"""A draft's 1C lines: Bitrix24's exact amounts, at a unit price 1C keeps.

1C computes a line's `Сумма` as `Цена × Количество` (reference onec.md §2.6), and its `Цена` holds kopecks
(Number(15, 2)). A line whose amount is not its price times its quantity is recalculated as soon as a 1C user
touches it, so every line must satisfy |round(Цена × Количество, 2) − Сумма| ≤ 0.01 while carrying Bitrix24's own
`Сумма` and `СуммаНДС` (`invoice_bridge.money`).

The document has one flag for all its lines, `СуммаВключаетНДС` ("price and amount include VAT"): with it a line's
`Сумма` is the row's total with VAT, without it the row's net and 1C adds `СуммаНДС` on top. The choice:
- A row priced the document's way keeps its Bitrix24 unit price (`PRICE` with VAT included, `PRICE_EXCLUSIVE` with
  VAT on top). Bitrix24's amount is roundEx(price × quantity), never more than a kopeck from round(price × quantity):
  a deal whose rows all use one mode gets that mode, and every line holds.
- A row priced the other way gets the unit price that comes closest to its amount, round(Сумма / Количество, 2).
  That holds for small quantities but not in general (0.01 × 1000 is 10.00, not a total of 12.20).
- So a deal mixing both modes gets the flag under which every line holds, VAT included first (the deal as Bitrix24
  shows it, with what the buyer pays per line); when neither flag does, the deal is rejected naming the rows, rather
  than sent with lines 1C would change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from invoice_bridge.events import EntityType
from invoice_bridge.invoice.model import InvoiceLine, VatRate
from invoice_bridge.messages import Msg, Text, t
from invoice_bridge.money import KOPECK, LineAmounts, to_kopecks


@dataclass(frozen=True)
class PricedRow:
    """A product row that passed every check, with the figures its 1C line is made of."""

    number: int
    label: Text  # how the manager finds it: row N «name»
    product_code: str
    description: str
    quantity: Decimal
    price: Decimal  # per unit with VAT, after discount
    price_exclusive: Decimal  # per unit without VAT
    vat_rate: VatRate
    tax_included: bool
    amounts: LineAmounts


def keeps(line: InvoiceLine) -> bool:
    """Whether 1C keeps this line's amount: |round(Цена × Количество, 2) − Сумма| ≤ 0.01."""
    return abs(to_kopecks(line.price * line.quantity) - line.amount) <= KOPECK


def document_lines(
    rows: Sequence[PricedRow], entity: EntityType, problems: list[Text]
) -> tuple[bool, tuple[InvoiceLine, ...]]:
    """The document's `СуммаВключаетНДС` and its lines; a problem when no choice keeps every line."""
    modes = [True, False] if any(row.tax_included for row in rows) or not rows else [False, True]
    first: tuple[InvoiceLine, ...] = ()
    for include_vat in modes:
        lines = tuple(_line(row, include_vat) for row in rows)
        if all(keeps(line) for line in lines):
            return include_vat, lines
        first = first or lines
    recalculated = tuple(row.label for row, line in zip(rows, first, strict=True) if not keeps(line))
    problems.append(t(Msg.ROWS_MIXED_VAT_MODES, rows=recalculated, entity=entity))
    return modes[0], first


def _line(row: PricedRow, include_vat: bool) -> InvoiceLine:
    amount = row.amounts.total if include_vat else row.amounts.net
    if row.tax_included == include_vat:
        price = row.price if include_vat else row.price_exclusive
    else:
        with localcontext(prec=60):
            price = to_kopecks(amount / row.quantity)
    return InvoiceLine(
        line_number=row.number,
        product_code=row.product_code,
        description=row.description,
        quantity=row.quantity,
        price=price,
        amount=amount,
        vat_rate=row.vat_rate,
        vat_amount=row.amounts.vat,
        total=row.amounts.total,
    )
