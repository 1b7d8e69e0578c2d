"""The buyer invoice (Document_СчетНаОплатуПокупателю): found by the deal's external key, else created as a draft."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from invoice_bridge.invoice.model import InvoiceDraft, InvoiceLine
from invoice_bridge.onec.catalogs import CatalogResolver, Organization
from invoice_bridge.onec.client import ODataClient
from invoice_bridge.onec.literals import string_literal

BUYER_INVOICES = "Document_СчетНаОплатуПокупателю"
NOMENCLATURE_TYPE = "StandardODATA.Catalog_Номенклатура"
PENDING_REVIEW = "Черновик из Bitrix24, ожидает проверки бухгалтером (pending review)"


class OnecDocument(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    ref_key: str = Field(alias="Ref_Key")
    number: str = Field(default="", alias="Number")
    date: str = Field(default="", alias="Date")
    posted: bool = Field(default=False, alias="Posted")
    total: Decimal = Field(default=Decimal(0), alias="СуммаДокумента")


def key_marker(external_key: str) -> str:
    """The bracketed key in the document's comment; the brackets stop deal 12 from matching deal 123."""
    return f"[{external_key}]"


def find_buyer_invoice(client: ODataClient, external_key: str) -> OnecDocument | None:
    rows = client.query(
        BUYER_INVOICES,
        filter=f"substringof({string_literal(key_marker(external_key))}, Комментарий) and DeletionMark eq false",
        select=("Ref_Key", "Number", "Date", "Posted", "СуммаДокумента"),
        top=1,
    )
    return OnecDocument.model_validate(rows[0]) if rows else None


def create_buyer_invoice(
    client: ODataClient,
    catalogs: CatalogResolver,
    organization: Organization,
    draft: InvoiceDraft,
    now: datetime,
) -> OnecDocument:
    counterparty = catalogs.counterparty(draft.buyer.inn, draft.buyer.kpp)
    contract = catalogs.buyer_contract(counterparty, organization.ref_key)
    body: dict[str, Any] = {
        "Date": now.replace(tzinfo=None, microsecond=0).isoformat(),
        "ВидОперации": "ТоварыИУслуги",
        "Организация_Key": organization.ref_key,
        "Контрагент_Key": counterparty,
        "ВалютаДокумента_Key": catalogs.currency(draft.currency_code),
        "КурсВзаиморасчетов": 1,
        "КратностьВзаиморасчетов": 1,
        "СуммаВключаетНДС": draft.amounts_include_vat,
        "СуммаДокумента": draft.total,
        "Комментарий": f"{PENDING_REVIEW}. Сделка «{draft.source_title}» {draft.source_url} "
        f"{key_marker(draft.external_key)}",
        "Товары": [_line(catalogs, line) for line in draft.lines],
    }
    if contract is not None:
        body["ДоговорКонтрагента_Key"] = contract
    return OnecDocument.model_validate(client.create(BUYER_INVOICES, body))


def _line(catalogs: CatalogResolver, line: InvoiceLine) -> dict[str, Any]:
    row: dict[str, Any] = {
        "LineNumber": str(line.line_number),
        "Количество": line.quantity,
        "Цена": line.price,
        "Сумма": line.amount,
        "СтавкаНДС": line.vat_rate.value,
        "СуммаНДС": line.vat_amount,
    }
    if line.product_code:
        row["Номенклатура"] = catalogs.nomenclature(line.product_code)
        row["Номенклатура_Type"] = NOMENCLATURE_TYPE
    else:
        row["Содержание"] = line.description[:1000]
    return row
