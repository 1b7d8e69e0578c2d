"""The vocabulary every part of the 1C sandbox describes its entity sets in: names 1C gives them, the EDM types of
their properties, and the building blocks catalogs, documents and registers are declared from.

One description drives both the sandbox's answers (defaults stored for properties a POST leaves out, the property
names `$filter`/`$select` accept, the checks of a write) and the `$metadata` document, so the two cannot drift
apart. Names, types and enum values follow shared/reference/onec.md §1.5, §2 and the BP 3.0.198.19 dump.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

NAMESPACE = "StandardODATA"
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01T00:00:00"
UNDEFINED_TYPE = f"{NAMESPACE}.Undefined"

INVOICE_SET = "Document_СчетНаОплатуПокупателю"
SALE_SET = "Document_РеализацияТоваровУслуг"
TAX_INVOICE_SET = "Document_СчетФактураВыданный"
COUNTERPARTIES = "Catalog_Контрагенты"
CONTRACTS = "Catalog_ДоговорыКонтрагентов"
NOMENCLATURE = "Catalog_Номенклатура"
ORGANIZATIONS = "Catalog_Организации"
CURRENCIES = "Catalog_Валюты"


class Edm(StrEnum):
    GUID = "Edm.Guid"
    STRING = "Edm.String"
    DOUBLE = "Edm.Double"
    DATETIME = "Edm.DateTime"
    BOOLEAN = "Edm.Boolean"
    INT64 = "Edm.Int64"


@dataclass(frozen=True)
class Prop:
    """A property as 1C publishes it; `default` is what 1C stores (and answers) when a write leaves it out."""

    name: str
    type: Edm
    default: Any
    enum: str | None = None  # 1C enumeration behind an Edm.String property
    # Entity sets a reference may point at, when the sandbox serves them (checked on write): one for a single-type
    # `…_Key`, the allowed types for the value of a composite pair (`X` + `X_Type`); empty = not checked.
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class TabularSection:
    name: str
    columns: tuple[Prop, ...]  # without the row's Ref_Key and LineNumber

    def row_type(self, entity_set: str) -> str:
        return f"{entity_set}_{self.name}_RowType"

    def row_defaults(self) -> dict[str, Any]:
        return {column.name: column.default for column in self.columns}

    def column(self, name: str) -> Prop | None:
        return next((column for column in self.columns if column.name == name), None)


@dataclass(frozen=True)
class EntityType:
    name: str  # also the entity set's name, as in 1C
    properties: tuple[Prop, ...]
    tabular_sections: tuple[TabularSection, ...] = ()
    number_length: int = 0  # documents: length of the autonumber (onec.md §1.6)

    @property
    def is_document(self) -> bool:
        return self.name.startswith("Document_")

    def prop(self, name: str) -> Prop | None:
        return next((prop for prop in self.properties if prop.name == name), None)

    def section(self, name: str) -> TabularSection | None:
        return next((section for section in self.tabular_sections if section.name == name), None)

    def defaults(self) -> dict[str, Any]:
        values: dict[str, Any] = {prop.name: prop.default for prop in self.properties}
        values.update({section.name: [] for section in self.tabular_sections})
        return values

    def names(self) -> set[str]:
        return {prop.name for prop in self.properties} | {section.name for section in self.tabular_sections}


# ---- building blocks -------------------------------------------------------------------------------------


def key(name: str, reference: str | None = None) -> Prop:
    return Prop(name, Edm.GUID, ZERO_GUID, references=(reference,) if reference else ())


def text(name: str, default: str = "") -> Prop:
    return Prop(name, Edm.STRING, default)


def enum(name: str, enum: str) -> Prop:
    return Prop(name, Edm.STRING, "", enum=enum)


def number(name: str) -> Prop:
    return Prop(name, Edm.DOUBLE, 0)


def integer(name: str) -> Prop:
    return Prop(name, Edm.INT64, "0")  # 1C answers Edm.Int64 as a JSON string (onec.md §1.5)


def flag(name: str, default: bool = False) -> Prop:
    return Prop(name, Edm.BOOLEAN, default)


def date(name: str) -> Prop:
    return Prop(name, Edm.DATETIME, EMPTY_DATE)


def composite(name: str, *references: str) -> tuple[Prop, Prop]:
    """A composite-type attribute: the value as a string plus its type name (onec.md §1.5)."""
    return Prop(name, Edm.STRING, "", references=references), text(f"{name}_Type", UNDEFINED_TYPE)


def catalog_head(*, owner: str | None = None, hierarchical: bool = True) -> tuple[Prop, ...]:
    head = [Prop("Ref_Key", Edm.GUID, ZERO_GUID), text("DataVersion"), flag("DeletionMark")]
    if owner is not None:
        head.append(key("Owner_Key", owner))
    if hierarchical:
        head += [key("Parent_Key"), flag("IsFolder")]
    return (*head, text("Code"), text("Description"))


CATALOG_TAIL = (flag("Predefined"), text("PredefinedDataName"))
DOCUMENT_HEAD = (
    Prop("Ref_Key", Edm.GUID, ZERO_GUID), text("DataVersion"), flag("DeletionMark"), text("Number"),
    Prop("Date", Edm.DATETIME, EMPTY_DATE), flag("Posted"),
)  # fmt: skip
