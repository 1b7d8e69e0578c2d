"""Writing to the 1C sandbox: POST creates an object, PATCH changes one (`If-Match: <DataVersion>`), each checked
as 1C checks it — names, types, enumeration values and rows from the body alone, then under the lock the
references, what BP fills before writing (:mod:`local.onec.posting`) and the kind's own rules
(:mod:`local.onec.documents`, :mod:`local.onec.catalogs`); the object is numbered and gets a new DataVersion.

Stricter than a live base in one respect: references in a write must point at existing objects.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from local.onec import catalogs, documents
from local.onec.model import (
    CONTRACTS,
    COUNTERPARTIES,
    EMPTY_DATE,
    INVOICE_SET,
    NAMESPACE,
    ORGANIZATIONS,
    SALE_SET,
    TAX_INVOICE_SET,
    ZERO_GUID,
    Edm,
    EntityType,
    Prop,
    TabularSection,
)
from local.onec.posting import before_write
from local.onec.protocol import GUID_RE, INTERNAL_ERROR_MESSAGE, ODataError, etag_matches, parse_body
from local.onec.store import Check, Store

CREATABLE = frozenset({INVOICE_SET, SALE_SET, TAX_INVOICE_SET, COUNTERPARTIES, CONTRACTS})
_READ_ONLY = ("Ref_Key", "DataVersion", "Posted")  # a write never takes these from the body
_ROW_NUMBERS = ("Количество", "Цена", "Сумма", "СуммаНДС")  # required in every VAT-bearing document line
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
_INT_RE = re.compile(r"^-?[0-9]+$")
_KIND_CHECKS: dict[str, Check] = {
    INVOICE_SET: documents.check_invoice,
    SALE_SET: documents.check_sale,
    TAX_INVOICE_SET: documents.check_tax_invoice,
    COUNTERPARTIES: catalogs.check_counterparty,
    CONTRACTS: catalogs.check_contract,
}


def create(store: Store, entity_set: str, raw: bytes) -> dict[str, Any]:
    body = parse_body(raw)
    entity_type = store.types[entity_set]
    _check_body(store, entity_type, body, patch=False)
    with store.lock:
        entity = {**entity_type.defaults(), "Ref_Key": str(uuid.uuid4())}
        _apply(entity_type, entity, body)
        _complete(store, entity_type, entity, body)
        store.sets[entity_set].append(entity)
        return copy.deepcopy(entity)


def update(store: Store, entity_set: str, key: str, raw: bytes, if_match: str | None) -> dict[str, Any]:
    """PATCH: only the properties sent change; a tabular section sent replaces the whole section."""
    body = parse_body(raw)
    entity_type = store.types[entity_set]
    _check_body(store, entity_type, body, patch=True)
    if "Ref_Key" in body and str(body["Ref_Key"]).lower() != key:
        raise ODataError(400, "16", "Не удалось присвоить свойство Ref_Key: ключ объекта не меняется")
    with store.lock:
        index = store.index_of(entity_set, key)
        if index is None:
            raise ODataError(404, "9", f"Экземпляр сущности не найден: {entity_set}(guid'{key}')")
        current = store.sets[entity_set][index]
        if if_match is not None and not etag_matches(if_match, current["DataVersion"]):
            # 412 for a stale DataVersion (onec.md §1.11); the odata.error code 1C uses here is unverified.
            raise ODataError(
                412,
                "-1",
                f"Объект {entity_set}(guid'{key}') изменен другим пользователем: версия в If-Match "
                f"{if_match.strip()} устарела, текущая {current['DataVersion']}",
            )
        entity = copy.deepcopy(current)
        _apply(entity_type, entity, body)
        if entity_type.is_document and entity["DeletionMark"] and not current["DeletionMark"]:
            entity["Posted"] = False  # marking a document for deletion cancels its posting, as in 1C
        _complete(store, entity_type, entity, body)
        store.sets[entity_set][index] = entity
        return copy.deepcopy(entity)


def _check_body(store: Store, entity_type: EntityType, body: Mapping[str, Any], *, patch: bool) -> None:
    """What can be judged from the body alone: names, types, enum values, rows."""
    if entity_type.is_document and "Posted" in body:
        raise ODataError(400, "16", "Не удалось присвоить свойство Posted: проведение выполняется методом Post")
    known = entity_type.names()
    for name in body:
        if name not in known and not _ignorable(name):
            raise ODataError(400, "10", f"Свойство не найдено: {name}")
    if entity_type.is_document and (not patch or "Date" in body):
        date = body.get("Date")
        if not _is_date(date):
            raise ODataError(400, "5", f"Нет обязательного значения свойства Date (ГГГГ-ММ-ДДTчч:мм:сс): {date!r}")
    for prop in entity_type.properties:
        if prop.name in body:
            _check_value(store, prop, body[prop.name], prop.name)
    for section in entity_type.tabular_sections:
        if section.name in body:
            _check_rows(store, section, body[section.name])


def _check_value(store: Store, prop: Prop, value: Any, where: str) -> None:
    if not _has_type(prop.type, value):
        expected = {
            Edm.GUID: "GUID", Edm.STRING: "строка", Edm.DOUBLE: "число", Edm.INT64: "целое число",
            Edm.BOOLEAN: "true/false", Edm.DATETIME: "дата ГГГГ-ММ-ДДTчч:мм:сс",
        }[prop.type]  # fmt: skip
        raise ODataError(400, "4", f"Неверное значение свойства {where}: {value!r}, ожидается {expected}")
    if prop.enum is not None and value != "" and value not in store.enums[prop.enum]:
        raise ODataError(400, "4", f"Неверное значение свойства {where}: {value!r} нет в перечислении {prop.enum}")


def _check_rows(store: Store, section: TabularSection, rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ODataError(400, "4", f"Неверное значение свойства {section.name}: ожидается массив строк-объектов")
    if any("LineNumber" not in row for row in rows):
        raise ODataError(500, "-1", INTERNAL_ERROR_MESSAGE)  # what a live base answers (onec.md §1.7)
    vat = section.column("СтавкаНДС")
    for row in rows:
        line = row["LineNumber"]
        if isinstance(line, bool) or not re.fullmatch(r"[1-9]\d*", str(line)):
            raise ODataError(400, "4", f"Неверное значение свойства LineNumber: {line!r}")
        where = f"{section.name} (LineNumber={line})"
        for name in row:
            if section.column(name) is None and name not in ("LineNumber", "Ref_Key"):
                raise ODataError(400, "10", f"Свойство не найдено: {where}.{name}")
        for column in section.columns:
            if vat is not None and column.name in _ROW_NUMBERS and column.name not in row:
                raise ODataError(400, "5", f"Нет обязательного значения свойства {where}.{column.name}")
            if column.name in row:
                _check_value(store, column, row[column.name], f"{where}.{column.name}")
        if vat is not None and not row.get("СтавкаНДС"):
            raise ODataError(400, "4", f"Неверное значение свойства {where}.СтавкаНДС: {row.get('СтавкаНДС')!r}")


def _apply(entity_type: EntityType, entity: dict[str, Any], body: Mapping[str, Any]) -> None:
    """Copy the body's values into the object; a tabular section sent replaces the stored one."""
    for name, value in body.items():
        if name in _READ_ONLY or _ignorable(name):
            continue
        section = entity_type.section(name)
        if section is not None:
            entity[name] = [_stored_row(section, row, entity["Ref_Key"]) for row in value]
        else:
            prop = entity_type.prop(name)
            entity[name] = _stored_value(prop.type, value) if prop is not None else value


def _complete(store: Store, entity_type: EntityType, entity: dict[str, Any], body: Mapping[str, Any]) -> None:
    """Under the lock: check references and the kind's own rules, compute what 1C computes on write,
    number the object and give it a new DataVersion."""
    before_write(entity_type.name, entity, lambda name: store.sets.get(name, []), store.accounting)
    _check_references(store, entity_type, entity)
    check = _KIND_CHECKS.get(entity_type.name)
    if check is not None:
        check(store, entity_type, entity, body)
    if entity_type.is_document and not entity["Number"]:
        organization = store.find(ORGANIZATIONS, entity["Организация_Key"]) or {}
        entity["Number"] = store.next_number(entity_type, str(organization.get("Префикс", "")), entity["Date"])
    elif not entity_type.is_document and not entity["Code"]:
        entity["Code"] = store.next_code(entity_type.name)
    store.stamp(entity)


def _check_references(store: Store, entity_type: EntityType, entity: Mapping[str, Any]) -> None:
    for prop in entity_type.properties:
        _check_reference(store, prop, entity, prop.name)
    for section in entity_type.tabular_sections:
        for row in entity[section.name]:
            for column in section.columns:
                _check_reference(store, column, row, f"{section.name} (LineNumber={row['LineNumber']}).{column.name}")


def _check_reference(store: Store, prop: Prop, values: Mapping[str, Any], where: str) -> None:
    value = values.get(prop.name)
    if not prop.references or value in (None, "", ZERO_GUID) or value == values.get("Ref_Key"):
        return
    targets = prop.references
    if prop.type is Edm.STRING:  # the value of a composite pair: its `_Type` says where to look
        kind = values.get(f"{prop.name}_Type", "")
        allowed = [f"{NAMESPACE}.{target}" for target in prop.references]
        if kind not in allowed:
            raise ODataError(
                400, "4", f"Неверное значение свойства {where}_Type: {kind!r}, ожидается {' или '.join(allowed)}"
            )
        if not GUID_RE.match(str(value)):
            raise ODataError(400, "4", f"Неверное значение свойства {where}: {value!r} не является GUID")
        targets = (kind.removeprefix(f"{NAMESPACE}."),)
    if all(store.find(target, str(value)) is None for target in targets):
        # A live base would store a broken reference («<Объект не найден>»); the sandbox refuses it.
        raise ODataError(400, "4", f"Неверное значение свойства {where}: в {targets[0]} нет объекта {value}")


def _ignorable(name: str) -> bool:
    """Properties 1C itself tolerates in a body: deprecated attributes, annotations, navigation links."""
    return name.startswith("Удалить") or name.startswith("odata.") or "@" in name


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or not _DATE_RE.match(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return value == EMPTY_DATE
    return True


def _has_type(edm: Edm, value: Any) -> bool:
    if edm is Edm.GUID:
        return isinstance(value, str) and bool(GUID_RE.match(value))
    if edm is Edm.STRING:
        return isinstance(value, str)
    if edm is Edm.BOOLEAN:
        return isinstance(value, bool)
    if edm is Edm.DATETIME:
        return _is_date(value)
    if isinstance(value, bool):
        return False
    if edm is Edm.INT64:
        if isinstance(value, Decimal):
            return value.is_finite() and value == value.to_integral_value()
        return isinstance(value, int) or (isinstance(value, str) and bool(_INT_RE.match(value)))
    return isinstance(value, int | Decimal)  # Edm.Double


def _stored_value(edm: Edm, value: Any) -> Any:
    if edm is Edm.GUID:
        return str(value).lower()
    if edm is Edm.INT64:
        return str(int(value))  # 1C answers Edm.Int64 as a string (onec.md §1.5)
    return value


def _stored_row(section: TabularSection, row: Mapping[str, Any], ref: str) -> dict[str, Any]:
    stored: dict[str, Any] = {"Ref_Key": ref, "LineNumber": str(int(str(row["LineNumber"]))), **section.row_defaults()}
    for column in section.columns:
        if column.name in row:
            stored[column.name] = _stored_value(column.type, row[column.name])
    return stored
