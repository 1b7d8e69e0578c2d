"""Bitrix24 REST answers as typed records. Bitrix24 sends most values as strings; these models convert them."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, field_validator


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class DealRecord(_Record):
    """crm.deal.get"""

    ID: int
    TITLE: str = ""
    STAGE_ID: str
    STAGE_SEMANTIC_ID: str = ""
    CATEGORY_ID: int = 0
    CURRENCY_ID: str = ""
    OPPORTUNITY: Decimal = Decimal(0)
    IS_MANUAL_OPPORTUNITY: str = "N"
    TAX_VALUE: Decimal = Decimal(0)
    COMPANY_ID: int = 0
    CONTACT_ID: int = 0
    DATE_MODIFY: str = ""

    @field_validator("COMPANY_ID", "CONTACT_ID", mode="before")
    @classmethod
    def _none_is_zero(cls, value: object) -> object:
        return 0 if value in (None, "") else value

    @property
    def manual_opportunity(self) -> bool:
        return self.IS_MANUAL_OPPORTUNITY == "Y"


class ProductRowRecord(_Record):
    """One row of crm.deal.productrows.get; PRICE is per unit, VAT included, after discount."""

    ID: int
    PRODUCT_ID: int = 0
    PRODUCT_NAME: str = ""
    PRICE: Decimal
    PRICE_EXCLUSIVE: Decimal | None = None
    QUANTITY: Decimal
    TAX_RATE: Decimal | None = None
    TAX_INCLUDED: str = "N"
    DISCOUNT_RATE: Decimal = Decimal(0)
    MEASURE_NAME: str = ""
    SORT: int = 0

    @property
    def tax_included(self) -> bool:
        return self.TAX_INCLUDED == "Y"


class RequisiteRecord(_Record):
    """crm.requisite.get / crm.requisite.list"""

    ID: int
    ENTITY_TYPE_ID: int = 0
    ENTITY_ID: int = 0
    PRESET_ID: int = 0
    NAME: str = ""
    RQ_COMPANY_NAME: str = ""
    RQ_COMPANY_FULL_NAME: str = ""
    RQ_INN: str = ""
    RQ_KPP: str = ""
    RQ_FIRST_NAME: str = ""
    RQ_LAST_NAME: str = ""
    RQ_SECOND_NAME: str = ""

    @field_validator("RQ_INN", "RQ_KPP", "RQ_COMPANY_NAME", "RQ_COMPANY_FULL_NAME", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return "" if value is None else value

    @property
    def display_name(self) -> str:
        person = " ".join(p for p in (self.RQ_LAST_NAME, self.RQ_FIRST_NAME, self.RQ_SECOND_NAME) if p)
        return self.RQ_COMPANY_NAME or person or self.NAME


class ProductRecord(_Record):
    """catalog.product.get → result.product"""

    id: int
    name: str = ""
    xmlId: str | None = None
