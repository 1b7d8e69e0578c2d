"""What the 1C base in front of us publishes, read once from `$metadata`: entity sets, the shape of document
lines (release 3.0.198 has a composite `Номенклатура` + `Номенклатура_Type`, older ones `Номенклатура_Key`) and,
where the metadata lists them, the values of the VAT-rate enumeration."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from xml.etree.ElementTree import Element

from defusedxml import ElementTree

VAT_ENUM = "СтавкиНДС"


class ItemReference(StrEnum):
    COMPOSITE = "composite"  # "Номенклатура": guid, "Номенклатура_Type": "StandardODATA.Catalog_Номенклатура"
    SINGLE = "single"  # "Номенклатура_Key": guid


class MetadataError(ValueError):
    """$metadata could not be read; the message says what was wrong with it."""


@dataclass(frozen=True)
class OnecSchema:
    entity_sets: frozenset[str]
    properties: dict[str, frozenset[str]]  # entity or row type name → its property names
    vat_rates: frozenset[str] | None  # None: this metadata does not list the enumeration's values

    def missing(self, needed: tuple[str, ...]) -> list[str]:
        return [name for name in needed if name not in self.entity_sets]

    def item_reference(self, document: str, table: str = "Товары") -> ItemReference:
        row = self.properties.get(f"{document}_{table}_RowType") or self.properties.get(
            f"{document}_{table}", frozenset()
        )
        return ItemReference.COMPOSITE if "Номенклатура_Type" in row else ItemReference.SINGLE

    def lacks_vat_rate(self, rate: str) -> bool:
        return self.vat_rates is not None and rate not in self.vat_rates


def parse_metadata(text: str) -> OnecSchema:
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise MetadataError(f"$metadata is not XML: {exc}") from None
    if _local(root.tag) != "Edmx":
        raise MetadataError(f"$metadata is not an EDMX document (root element {_local(root.tag)})")
    properties: dict[str, frozenset[str]] = {}
    for kind in ("EntityType", "ComplexType"):
        for element in root.iterfind(f".//{{*}}{kind}"):
            names = frozenset(p.get("Name", "") for p in element.iterfind("{*}Property"))
            properties[element.get("Name", "")] = names
    entity_sets = frozenset(e.get("Name", "") for e in root.iterfind(".//{*}EntitySet"))
    if not entity_sets:  # some publications list types only
        entity_sets = frozenset(name for name in properties if not name.endswith("_RowType"))
    return OnecSchema(entity_sets=entity_sets, properties=properties, vat_rates=_enum_members(root, VAT_ENUM))


def _enum_members(root: Element, name: str) -> frozenset[str] | None:
    for enum in root.iterfind(".//{*}EnumType"):
        if enum.get("Name") == name:
            return frozenset(member.get("Name", "") for member in enum.iterfind("{*}Member"))
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def assumed_schema(entity_sets: tuple[str, ...]) -> OnecSchema:
    """When $metadata cannot be read: release 3.0.198 line shapes, VAT rates unknown (not blocked)."""
    return OnecSchema(
        entity_sets=frozenset(entity_sets),
        properties={f"{name}_Товары_RowType": frozenset({"Номенклатура", "Номенклатура_Type"}) for name in entity_sets},
        vat_rates=None,
    )
