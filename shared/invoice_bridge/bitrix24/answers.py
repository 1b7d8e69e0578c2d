"""Bitrix24 answers into records, one record at a time: a record Bitrix24 sent in a shape the bridge cannot read
becomes a problem that names the record, the field and the value, for that deal alone."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from invoice_bridge.bitrix24.records import DealRecord, ProductRowRecord, StageRecord, shown_value
from invoice_bridge.events import EntityType
from invoice_bridge.messages import Msg, Text, t

R = TypeVar("R", bound=BaseModel)


class UnreadableStage(ValueError):
    """The stage fields themselves are unreadable, so not even the trigger decision can be made."""

    def __init__(self, problems: tuple[Text, ...]) -> None:
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems


def validated(model: type[R], raw: Any, what: Text) -> tuple[R | None, list[Text]]:
    """The record, or None and what is wrong with each field (`what` says which record, for the manager)."""
    if not isinstance(raw, dict):
        return None, [t(Msg.RECORD_NOT_A_RECORD, place=what, value=shown_value(raw))]
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        return None, [_field_problem(what, error) for error in exc.errors()]


# REST field → the name the manager sees on the card
_FIELD_TITLES = {
    "RQ_INN": Msg.FIELD_INN,
    "RQ_KPP": Msg.FIELD_KPP,
    "RQ_COMPANY_NAME": Msg.FIELD_COMPANY_NAME,
    "PRODUCT_NAME": Msg.FIELD_PRODUCT_NAME,
    "PRICE": Msg.FIELD_PRICE,
    "QUANTITY": Msg.FIELD_QUANTITY,
    "OPPORTUNITY": Msg.FIELD_AMOUNT,
    "STAGE_ID": Msg.FIELD_STAGE,
    "TITLE": Msg.FIELD_TITLE,
}


def _field_problem(what: Text, error: Any) -> Text:
    code = ".".join(str(part) for part in error["loc"]) or "(record)"
    field: Text | str = t(Msg.FIELD_LABEL, title=t(_FIELD_TITLES[code]), code=code) if code in _FIELD_TITLES else code
    if error["type"] == "missing":
        return t(Msg.FIELD_MISSING, place=what, field=field)
    return t(Msg.FIELD_INVALID, place=what, field=field, value=shown_value(error["input"]))


def entity_records(
    entity_type: EntityType, entity_id: int, main: Any, rows: Any
) -> tuple[DealRecord, tuple[ProductRowRecord, ...], list[Text]]:
    """The deal (or new invoice, read into the deal's shape), its rows, and what could not be read.

    When the entity itself is unreadable, its record carries the stage fields alone (enough to tell whether
    it is in a trigger stage) and the problems say why; `UnreadableStage` when even those are unreadable."""
    if entity_type is EntityType.DEAL:
        fields = main
        raw_rows: Any = rows if rows is not None else []
    else:
        item = main.get("item") if isinstance(main, dict) else None
        fields = _renamed(item, INVOICE_FIELDS) if isinstance(item, dict) else item
        contacts = item.get("contactIds") if isinstance(item, dict) else None
        if isinstance(fields, dict) and contacts:
            fields["CONTACT_ID"] = contacts[0] if isinstance(contacts, list) else contacts
        raw_rows = rows.get("productRows") if isinstance(rows, dict) else rows
        raw_rows = [_renamed(row, ROW_FIELDS) if isinstance(row, dict) else row for row in raw_rows or []]
    place = t(Msg.ENTITY, entity=entity_type)
    record, problems = validated(DealRecord, fields, place)
    if record is None:
        stage, stage_problems = validated(StageRecord, fields, place)
        if stage is None:
            raise UnreadableStage(tuple(stage_problems))
        record = _without_unreadable_fields(fields, entity_id)
    return record, *row_records(raw_rows, problems)


def _without_unreadable_fields(fields: dict[str, Any], entity_id: int) -> DealRecord:
    """The record from the fields that are readable (the others keep their defaults; problems name them)."""
    unreadable: set[object] = set()
    try:
        DealRecord.model_validate(fields)
    except ValidationError as exc:
        unreadable = {error["loc"][0] for error in exc.errors() if error["loc"]}
    readable = {name: value for name, value in fields.items() if name not in unreadable}
    try:
        return DealRecord.model_validate(readable)
    except ValidationError:
        return DealRecord.model_validate({**StageRecord.model_validate(fields).model_dump(), "ID": entity_id})


def row_records(
    raw_rows: Any, problems: list[Text], *, first_number: int = 1
) -> tuple[tuple[ProductRowRecord, ...], list[Text]]:
    """The rows that are readable; `problems` gains one line per unreadable field, naming its row number."""
    if not isinstance(raw_rows, list):
        return (), [*problems, t(Msg.ROWS_NOT_A_LIST, value=shown_value(raw_rows))]
    rows: list[ProductRowRecord] = []
    for number, raw in enumerate(raw_rows, start=first_number):
        row, row_problems = validated(ProductRowRecord, raw, t(Msg.ROW, number=number))
        problems.extend(row_problems)
        if row is not None:
            rows.append(row)
    return tuple(rows), problems


def invoice_rows(raw: Any) -> list[Any]:
    """The rows of one `crm.item.productrow.list` page, renamed into the deal's row fields."""
    rows = raw.get("productRows") if isinstance(raw, dict) else None
    return [_renamed(row, ROW_FIELDS) if isinstance(row, dict) else row for row in rows or []]


# crm.item.* speaks camelCase; the bridge reads invoices into the deal-shaped records
INVOICE_FIELDS = {
    "id": "ID",
    "title": "TITLE",
    "stageId": "STAGE_ID",
    "stageSemanticId": "STAGE_SEMANTIC_ID",
    "categoryId": "CATEGORY_ID",
    "currencyId": "CURRENCY_ID",
    "opportunity": "OPPORTUNITY",
    "isManualOpportunity": "IS_MANUAL_OPPORTUNITY",
    "taxValue": "TAX_VALUE",
    "companyId": "COMPANY_ID",
    "updatedTime": "DATE_MODIFY",
}
ROW_FIELDS = {
    "id": "ID",
    "productId": "PRODUCT_ID",
    "productName": "PRODUCT_NAME",
    "price": "PRICE",
    "priceExclusive": "PRICE_EXCLUSIVE",
    "quantity": "QUANTITY",
    "taxRate": "TAX_RATE",
    "taxIncluded": "TAX_INCLUDED",
    "discountRate": "DISCOUNT_RATE",
    "measureName": "MEASURE_NAME",
    "sort": "SORT",
}


def _renamed(raw: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {names[key]: value for key, value in raw.items() if key in names}
