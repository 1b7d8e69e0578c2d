"""Answer formats of 1C's standard OData interface (issue 15, difference 2): Atom by default, JSON by `$format` or
by `Accept`; Atom entries a client writes are read too. The query options of the same difference (`$count`, both
`$inlinecount` values, `$expand`) are in :mod:`local.onec.query`.

Sources (reference notes onec.md §1.2-§1.3): JSON from 8.3.6 with `$format=json`, and `$format=application/json;
odata=nometadata` or `Accept: application/json;odata=…` (LARAVEL real code; ONECODATA "doc 17.4.7"); "Default format
without `$format` is Atom/XML" (PY1C); `…/Catalog_Товары/$count?$filter=…` returns a bare number and
`$inlinecount=allpages` adds `"odata.count"` as a string (42C, a copy of 1C's documentation); `$expand` of navigation
properties from 8.3.9 (PY1C; 42C). The Atom shape follows the real entry in
onec_samples/bp30_2018_Document_СчетНаОплатуПокупателю_POST_atom_entry.xml (`m:properties`, `d:` names, tabular
sections as `Collection(..._RowType)` of `d:element`); the feed around entries is OData v3 Atom.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from defusedxml import ElementTree

from local.onec.model import NAMESPACE, Edm, EntityType

ATOM_HEADERS = {"Content-Type": "application/atom+xml;charset=utf-8", "DataServiceVersion": "3.0"}
TEXT_HEADERS = {"Content-Type": "text/plain;charset=utf-8", "DataServiceVersion": "3.0"}
_ATOM = "http://www.w3.org/2005/Atom"
_D = "http://schemas.microsoft.com/ado/2007/08/dataservices"
_M = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
_SCHEME = "http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"


class Format(StrEnum):
    JSON = "json"
    JSON_NO_METADATA = "json-nometadata"
    ATOM = "atom"


class UnsupportedFormat(ValueError):
    """A `$format` 1C does not know (odata.error code 3: «Тип представления не поддерживается»)."""


def negotiate(format_option: str | None, accept: str | None) -> Format:
    """`$format` wins; otherwise `Accept`; otherwise Atom, as a real publication answers."""
    if format_option:
        value = format_option.strip().lower()
        if value in ("atom", "xml", "application/atom+xml", "application/xml"):
            return Format.ATOM
        if value == "json" or value.startswith("application/json"):
            return Format.JSON_NO_METADATA if "odata=nometadata" in value else Format.JSON
        raise UnsupportedFormat(format_option)
    wanted = (accept or "").lower()
    if "application/json" in wanted:
        return Format.JSON_NO_METADATA if "odata=nometadata" in wanted else Format.JSON
    return Format.ATOM


# ---- Atom --------------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _properties(entity_set: str, row: Mapping[str, Any], entity_type: EntityType | None) -> str:
    parts = []
    for name, value in row.items():
        if "@" in name:
            continue
        section = entity_type.section(name) if entity_type is not None else None
        if section is not None and isinstance(value, list):
            row_type = f"{NAMESPACE}.{section.row_type(entity_set)}"
            elements = "".join(
                f"<d:element m:type={quoteattr(row_type)}>"
                + "".join(
                    f"<d:{column}>{_text(cell)}</d:{column}>" for column, cell in line.items() if column != "Ref_Key"
                )
                + "</d:element>"
                for line in value
            )
            parts.append(f"<d:{name} m:type={quoteattr(f'Collection({row_type})')}>{elements}</d:{name}>")
        elif isinstance(value, dict) or value is None:
            parts.append(f'<d:{name} m:null="true"/>' if value is None else "")
        elif value == "":
            parts.append(f"<d:{name}/>")
        else:
            parts.append(f"<d:{name}>{_text(value)}</d:{name}>")
    return "".join(parts)


def _entry(base: str, entity_set: str, row: Mapping[str, Any], entity_type: EntityType | None) -> str:
    identity = f"{base}{entity_set}(guid'{row.get('Ref_Key', '')}')"
    return (
        f"<entry><id>{escape(identity)}</id>"
        f"<category term={quoteattr(f'{NAMESPACE}.{entity_set}')} scheme={quoteattr(_SCHEME)}/>"
        '<title type="text"/><updated>0001-01-01T00:00:00Z</updated><author/><summary/>'
        f'<content type="application/xml"><m:properties>{_properties(entity_set, row, entity_type)}</m:properties>'
        "</content></entry>"
    )


def atom_entry(base: str, entity_set: str, row: Mapping[str, Any], entity_type: EntityType | None) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<entry xmlns={quoteattr(_ATOM)} xmlns:d={quoteattr(_D)} xmlns:m={quoteattr(_M)} xml:base={quoteattr(base)}>"
        + _entry(base, entity_set, row, entity_type).removeprefix("<entry>")
    ).encode("utf-8")


def atom_feed(
    base: str, entity_set: str, rows: list[dict[str, Any]], entity_type: EntityType | None, count: int | None
) -> bytes:
    counted = f"<m:count>{count}</m:count>" if count is not None else ""
    entries = "".join(_entry(base, entity_set, row, entity_type) for row in rows)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<feed xmlns={quoteattr(_ATOM)} xmlns:d={quoteattr(_D)} xmlns:m={quoteattr(_M)} xml:base={quoteattr(base)}>"
        f'<id>{escape(base + entity_set)}</id><title type="text">{escape(entity_set)}</title>'
        f"<updated>0001-01-01T00:00:00Z</updated>{counted}{entries}</feed>"
    ).encode()


def service_document(base: str, published: list[str]) -> bytes:
    """The service root in Atom (onec_samples/service_document_empty_composition.xml, with collections)."""
    collections = "".join(
        f'<collection href={quoteattr(name)}><atom:title type="text">{escape(name)}</atom:title></collection>'
        for name in published
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<service xmlns="http://www.w3.org/2007/app" xmlns:atom="http://www.w3.org/2005/Atom" '
        f"xml:base={quoteattr(base)}><workspace><atom:title>Default</atom:title>{collections}</workspace></service>"
    ).encode()


# ---- Atom request bodies -----------------------------------------------------------------------------------


def _typed(edm: Edm, text: str) -> Any:
    if edm is Edm.BOOLEAN:
        return text.strip().lower() == "true"
    if edm is Edm.DOUBLE:
        try:
            return Decimal(text)
        except InvalidOperation:
            return text  # refused by the write checks as a wrong value
    return text


def parse_atom_entry(raw: bytes, entity_type: EntityType) -> dict[str, Any]:
    """An Atom `<entry>` a client writes (POST/PATCH) as the JSON body the sandbox checks: values typed by the
    entity type, tabular sections from their `d:element`s. Raises ValueError when it is not such an entry."""
    root = ElementTree.fromstring(raw)
    properties = root.find(f".//{{{_M}}}properties")
    if root.tag != f"{{{_ATOM}}}entry" or properties is None:
        raise ValueError("an Atom <entry> with m:properties is expected")
    body: dict[str, Any] = {}
    for element in properties:
        name = element.tag.removeprefix(f"{{{_D}}}")
        section = entity_type.section(name)
        if section is not None:
            rows = []
            for line in element.iterfind(f"{{{_D}}}element"):
                row: dict[str, Any] = {}
                for cell in line:
                    column_name = cell.tag.removeprefix(f"{{{_D}}}")
                    column = section.column(column_name)
                    row[column_name] = _typed(column.type, cell.text or "") if column else cell.text or ""
                rows.append(row)
            body[name] = rows
        elif element.get(f"{{{_M}}}null") == "true":
            continue
        else:
            prop = entity_type.prop(name)
            body[name] = _typed(prop.type, element.text or "") if prop else element.text or ""
    return body
