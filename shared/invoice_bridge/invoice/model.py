"""An invoice draft, independent of Bitrix24 and 1C field names."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from invoice_bridge.events import EntityType


class VatRate(StrEnum):
    """Values of 1C's enumeration СтавкиНДС that a Bitrix24 row can map to."""

    VAT22 = "НДС22"
    VAT20 = "НДС20"
    VAT10 = "НДС10"
    VAT7 = "НДС7"
    VAT5 = "НДС5"
    VAT0 = "НДС0"
    WITHOUT_VAT = "БезНДС"


class Buyer(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    full_name: str
    inn: str
    kpp: str = ""

    @property
    def is_individual(self) -> bool:
        return len(self.inn) == 12


class InvoiceLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    line_number: int = Field(ge=1)
    product_code: str  # the external code that finds the item in 1C; empty for a free-text service line
    description: str
    quantity: Decimal
    price: Decimal  # per unit, as the document shows it (with VAT when amounts_include_vat)
    amount: Decimal  # the line's sum as the document shows it
    vat_rate: VatRate
    vat_amount: Decimal
    total: Decimal  # with VAT, what the buyer pays for the line


class InvoiceDraft(BaseModel):
    model_config = ConfigDict(frozen=True)

    ledger_key: str
    external_key: str  # stored in the 1C document so it can be found again
    source_title: str
    source_url: str
    source_entity: EntityType = EntityType.DEAL  # what the comments call it: a deal or a new invoice
    document_date: date
    currency_code: str  # ISO 4217 numeric, as 1C's Catalog_Валюты.Code
    buyer: Buyer
    amounts_include_vat: bool
    lines: tuple[InvoiceLine, ...]
    total: Decimal
    vat_total: Decimal

    def content_hash(self) -> str:
        """Identifies what was invoiced; the document date is left out so a redelivery the next day matches (and
        the entity's kind, which only words the comments, so hashes stored before it existed still match)."""
        canonical = self.model_dump_json(exclude={"document_date", "source_entity"})
        return hashlib.sha256(canonical.encode()).hexdigest()
