"""Bitrix24 REST answers as typed records. Bitrix24 sends most values as strings; these models convert them.

Texts and ids are lenient the way Bitrix24 is (null is empty, a number is its text). A figure is kept as a
`Decimal` when it is a finite number written plainly, else as a `BadNumber` that remembers what came: whether
it is usable is decided per deal by the mapping, which names the row, the field and the value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainValidator, field_validator

from invoice_bridge.messages import Msg, t
from invoice_bridge.messages import Text as MessageText

_PLAIN_NUMBER = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$")


@dataclass(frozen=True)
class BadNumber:
    """A value Bitrix24 sent where a number belongs, and what is wrong with it."""

    raw: object
    reason: MessageText

    def shown(self) -> str:
        return shown_value(self.raw)


def shown_value(raw: object) -> str:
    """A value the way a manager recognises it: text as is, null as «null», structures as short JSON."""
    if raw is None:
        return "null"
    if isinstance(raw, str):
        text = raw
    elif isinstance(raw, (dict, list)):
        text = json.dumps(raw, ensure_ascii=False, default=str)
    else:
        text = str(raw)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_number(raw: object) -> Decimal | BadNumber:
    """A finite number: a JSON number, or a string written in ASCII digits with a dot (`1000000.00`)."""
    if isinstance(raw, bool) or raw is None:
        return BadNumber(raw, t(Msg.NUMBER_EMPTY) if raw is None else t(Msg.NUMBER_NOT_A_NUMBER))
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float | Decimal):
        value = Decimal(raw) if isinstance(raw, Decimal) else Decimal(repr(raw))
        return value if value.is_finite() else BadNumber(raw, t(Msg.NUMBER_NOT_FINITE))
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return BadNumber(raw, t(Msg.NUMBER_EMPTY))
        if not _PLAIN_NUMBER.match(text):
            if "," in text:
                return BadNumber(raw, t(Msg.NUMBER_COMMA))
            return BadNumber(raw, t(Msg.NUMBER_NOT_A_NUMBER))
        try:
            return Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only plain decimals
            return BadNumber(raw, t(Msg.NUMBER_NOT_A_NUMBER))
    return BadNumber(raw, t(Msg.NUMBER_NOT_A_NUMBER))


def _number_or_none(raw: object) -> Decimal | BadNumber | None:
    return None if raw is None else parse_number(raw)


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    return value  # a structure stays and fails validation: the caller reports the field


def _whole(value: Any) -> Any:
    return 0 if value is None or value == "" else value


Number = Annotated[Decimal | BadNumber, PlainValidator(parse_number)]
OptionalNumber = Annotated[Decimal | BadNumber | None, PlainValidator(_number_or_none)]  # null is meaningful
NumberIfSent = Annotated[Decimal | BadNumber | None, PlainValidator(parse_number)]  # None only when absent
Text = Annotated[str, BeforeValidator(_text)]
WholeNumber = Annotated[int, BeforeValidator(_whole)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, arbitrary_types_allowed=True)


class StageRecord(_Record):
    """The fields the trigger decision needs, read on their own when the rest of the entity is unreadable."""

    ID: WholeNumber = 0
    STAGE_ID: Text = ""
    STAGE_SEMANTIC_ID: Text = ""
    CATEGORY_ID: WholeNumber = 0


class DealRecord(StageRecord):
    """crm.deal.get"""

    TITLE: Text = ""
    CURRENCY_ID: Text = ""
    OPPORTUNITY: Number = Decimal(0)
    IS_MANUAL_OPPORTUNITY: Text = "N"
    TAX_VALUE: Number = Decimal(0)
    COMPANY_ID: WholeNumber = 0
    CONTACT_ID: WholeNumber = 0
    DATE_MODIFY: Text = ""

    @property
    def manual_opportunity(self) -> bool:
        return self.IS_MANUAL_OPPORTUNITY == "Y"


class ProductRowRecord(_Record):
    """One row of crm.deal.productrows.get; PRICE is per unit, VAT included, after discount.

    TAX_RATE null means without VAT; PRICE_EXCLUSIVE absent is computed from PRICE (null is a bad value)."""

    ID: WholeNumber = 0
    PRODUCT_ID: WholeNumber = 0
    PRODUCT_NAME: Text = ""
    PRICE: Number = BadNumber(None, t(Msg.NUMBER_MISSING))
    PRICE_EXCLUSIVE: NumberIfSent = None
    QUANTITY: Number = BadNumber(None, t(Msg.NUMBER_MISSING))
    TAX_RATE: OptionalNumber = None
    TAX_INCLUDED: Text = "N"
    DISCOUNT_RATE: Number = Decimal(0)
    MEASURE_NAME: Text = ""
    SORT: WholeNumber = 0

    @property
    def tax_included(self) -> bool:
        return self.TAX_INCLUDED == "Y"


class RequisiteRecord(_Record):
    """crm.requisite.get / crm.requisite.list"""

    ID: int
    ENTITY_TYPE_ID: WholeNumber = 0
    ENTITY_ID: WholeNumber = 0
    PRESET_ID: WholeNumber = 0
    NAME: Text = ""
    RQ_COMPANY_NAME: Text = ""
    RQ_COMPANY_FULL_NAME: Text = ""
    RQ_INN: Text = ""
    RQ_KPP: Text = ""
    RQ_FIRST_NAME: Text = ""
    RQ_LAST_NAME: Text = ""
    RQ_SECOND_NAME: Text = ""

    @property
    def display_name(self) -> str:
        person = " ".join(p for p in (self.RQ_LAST_NAME, self.RQ_FIRST_NAME, self.RQ_SECOND_NAME) if p)
        return self.RQ_COMPANY_NAME or person or self.NAME


class ProductRecord(_Record):
    """catalog.product.get → result.product"""

    id: int
    name: Text = ""
    xmlId: str | None = None

    @field_validator("xmlId", mode="before")
    @classmethod
    def _code_text(cls, value: object) -> object:
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return str(value)
        return value if isinstance(value, str) else None
