"""The 1C sandbox's `$metadata` (EDMX/CSDL v3): every entity set it can serve, in publication order, and the
document a real publication answers for them.

The EDMX shape, and the parts that link types (issue 15, difference 3), follow a real 1C `$metadata`
(onec_samples/ut_real_metadata_fragment.edmx and the full fixture it is cut from, Romandredan/odata1c-gate tests/fixtures/edmx/ut-real.edmx): each single-type reference `X_Key` of an entity type
comes with `<NavigationProperty Name="X" Relationship="StandardODATA.<Type>_X" FromRole="Begin" ToRole="End"/>`,
and the schema has one `<Association Name="<Type>_X">` with ends Begin (`*`, the owner) and End (`0..1`, the
referenced type), listed after the enumerations; each tabular section is also an entity type (and an entity set)
`<Owner>_<Section>` keyed by `Ref_Key` and `LineNumber`, besides its `<Owner>_<Section>_RowType` complex type;
enumeration members carry a `Name` only; the container is `EnterpriseV8`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

from local.onec.catalogs import catalog_types, posting_catalog_types
from local.onec.documents import RECEIPT, document_types
from local.onec.model import NAMESPACE, Edm, EntityType, Prop
from local.onec.registers import register_types
from local.onec.releases import OnecFlavour

CONTAINER = "EnterpriseV8"

Add = Callable[[int, str], None]
Attributes = Callable[..., str]


@dataclass(frozen=True)
class Link:
    owner: str  # the entity type holding the reference
    name: str  # the navigation property: the reference without `_Key`
    target: str  # the referenced entity type

    @property
    def association(self) -> str:
        return f"{self.owner}_{self.name}"


def _links(owner: str, props: Iterable[Prop], published: set[str]) -> list[Link]:
    return [
        Link(owner, prop.name.removesuffix("_Key"), prop.references[0])
        for prop in props
        if prop.type is Edm.GUID and prop.name.endswith("_Key") and len(prop.references) == 1
        and prop.references[0] in published
    ]  # fmt: skip


def links(types: Iterable[EntityType]) -> dict[str, list[Link]]:
    """Navigation properties by owning type (documents, catalogs and their tabular sections)."""
    published = list(types)
    names = {entity_type.name for entity_type in published}
    found: dict[str, list[Link]] = {}
    for entity_type in published:
        found[entity_type.name] = _links(entity_type.name, entity_type.properties, names)
        for section in entity_type.tabular_sections:
            owner = f"{entity_type.name}_{section.name}"
            found[owner] = _links(owner, section.columns, names)
    return found


def navigation_properties(add: Add, attributes: Attributes, depth: int, owner_links: list[Link]) -> None:
    for link in owner_links:
        relationship = f"{NAMESPACE}.{link.association}"
        add(
            depth,
            f"<NavigationProperty{attributes(Name=link.name, Relationship=relationship, FromRole='Begin', ToRole='End')}/>",
        )


def section_entity_types(
    add: Add, attributes: Attributes, entity_type: EntityType, all_links: dict[str, list[Link]]
) -> None:
    """Each tabular section as an entity type of its own, keyed by the owner's Ref_Key and the LineNumber."""
    for section in entity_type.tabular_sections:
        name = f"{entity_type.name}_{section.name}"
        add(3, f"<EntityType{attributes(Name=name, OpenType='true')}>")
        add(4, '<Key><PropertyRef Name="Ref_Key"/><PropertyRef Name="LineNumber"/></Key>')
        add(4, f"<Property{attributes(Name='Ref_Key', Type=Edm.GUID, Nullable='false')}/>")
        add(4, f"<Property{attributes(Name='LineNumber', Type=Edm.INT64, Nullable='false')}/>")
        for column in section.columns:
            add(4, f"<Property{attributes(Name=column.name, Type=column.type, Nullable='true')}/>")
        navigation_properties(add, attributes, 4, all_links.get(name, []))
        add(3, "</EntityType>")


def associations(add: Add, attributes: Attributes, all_links: dict[str, list[Link]]) -> None:
    for owner_links in all_links.values():
        for link in owner_links:
            add(3, f"<Association{attributes(Name=link.association)}>")
            add(4, f"<End{attributes(Role='Begin', Type=f'{NAMESPACE}.{link.owner}', Multiplicity='*')}/>")
            add(4, f"<End{attributes(Role='End', Type=f'{NAMESPACE}.{link.target}', Multiplicity='0..1')}/>")
            add(3, "</Association>")


def section_entity_sets(add: Add, attributes: Attributes, entity_type: EntityType) -> None:
    for section in entity_type.tabular_sections:
        name = f"{entity_type.name}_{section.name}"
        add(4, f"<EntitySet{attributes(Name=name, EntityType=f'{NAMESPACE}.{name}')}/>")


def section_of(types: dict[str, EntityType], entity_set: str) -> tuple[str, str] | None:
    """`(owner, section)` when `entity_set` is a tabular section's own set (`Document_X_Товары`)."""
    for owner, entity_type in types.items():
        if entity_set.startswith(owner + "_"):
            name = entity_set.removeprefix(owner + "_")
            if entity_type.section(name) is not None:
                return owner, name
    return None


def section_rows(owners: list[dict[str, object]], section: str) -> list[dict[str, object]]:
    """Every owner's rows of the section, as 1C serves the section's set (owner's Ref_Key and LineNumber first)."""
    rows: list[dict[str, object]] = []
    for owner in owners:
        for row in owner.get(section) or []:  # type: ignore[attr-defined]
            rows.append({"Ref_Key": owner["Ref_Key"], **row})
    return rows


def entity_types(flavour: OnecFlavour = OnecFlavour.BP_3_0_198) -> dict[str, EntityType]:
    """Every entity set the sandbox can serve, in publication order: catalogs, documents, registers, and the
    catalogs posting refers to."""
    types = (*catalog_types(), *document_types(flavour), RECEIPT, *register_types(), *posting_catalog_types())
    return {entity_type.name: entity_type for entity_type in types}


# ---- $metadata -------------------------------------------------------------------------------------------


@dataclass
class _Xml:
    lines: list[str] = field(default_factory=list)

    def add(self, depth: int, text: str) -> None:
        self.lines.append("  " * depth + text)


def _attributes(**values: str) -> str:
    return "".join(f" {name.replace('__', ':')}={quoteattr(value)}" for name, value in values.items())


def _property(xml: _Xml, depth: int, name: str, edm_type: str, *, nullable: bool = True) -> None:
    xml.add(depth, f"<Property{_attributes(Name=name, Type=edm_type, Nullable=str(nullable).lower())}/>")


def render_metadata(types: Iterable[EntityType], enums: Mapping[str, tuple[str, ...]]) -> str:
    """The EDMX document 1C answers at `<service root>$metadata`, for the given (published) entity types."""
    published = list(types)
    navigation = links(published)
    xml = _Xml(['<?xml version="1.0" encoding="UTF-8"?>'])
    xml.add(0, '<edmx:Edmx xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" Version="1.0">')
    xml.add(
        1,
        '<edmx:DataServices xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"'
        ' m:DataServiceVersion="3.0" m:MaxDataServiceVersion="3.0">',
    )
    xml.add(2, f'<Schema xmlns="http://schemas.microsoft.com/ado/2009/11/edm"{_attributes(Namespace=NAMESPACE)}>')
    for entity_type in published:
        xml.add(3, f"<EntityType{_attributes(Name=entity_type.name, OpenType='true')}>")
        xml.add(4, '<Key><PropertyRef Name="Ref_Key"/></Key>')
        for prop in entity_type.properties:
            _property(xml, 4, prop.name, prop.type, nullable=prop.name != "Ref_Key")
        for section in entity_type.tabular_sections:
            _property(xml, 4, section.name, f"Collection({NAMESPACE}.{section.row_type(entity_type.name)})")
        navigation_properties(xml.add, _attributes, 4, navigation.get(entity_type.name, []))
        xml.add(3, "</EntityType>")
        section_entity_types(xml.add, _attributes, entity_type, navigation)
    for entity_type in published:
        for section in entity_type.tabular_sections:
            xml.add(3, f"<ComplexType{_attributes(Name=section.row_type(entity_type.name))}>")
            _property(xml, 4, "Ref_Key", Edm.GUID, nullable=False)
            _property(xml, 4, "LineNumber", Edm.INT64, nullable=False)
            for column in section.columns:
                _property(xml, 4, column.name, column.type)
            xml.add(3, "</ComplexType>")
    # 1C publishes enum-typed attributes as Edm.String holding the value name (onec.md §1.5) and lists each
    # enumeration as an EnumType whose members carry a Name only (the real UT $metadata in onec_samples' source);
    # a bridge must still read a missing EnumType as "values unknown" and not block on it.
    for name, members in enums.items():
        xml.add(3, f"<EnumType{_attributes(Name=name)}>")
        for member in members:
            xml.add(4, f"<Member{_attributes(Name=member)}/>")
        xml.add(3, "</EnumType>")
    associations(xml.add, _attributes, navigation)
    xml.add(3, f"<EntityContainer{_attributes(Name=CONTAINER, m__IsDefaultEntityContainer='true')}>")
    for entity_type in published:
        entity = f"{NAMESPACE}.{entity_type.name}"
        xml.add(4, f"<EntitySet{_attributes(Name=entity_type.name, EntityType=entity)}/>")
        section_entity_sets(xml.add, _attributes, entity_type)
    for entity_type in published:
        if not entity_type.is_document:
            continue
        for action in ("Post", "Unpost"):
            xml.add(4, f"<FunctionImport{_attributes(Name=action, IsBindable='true', IsSideEffecting='true')}>")
            xml.add(5, f"<Parameter{_attributes(Name='bindingParameter', Type=f'{NAMESPACE}.{entity_type.name}')}/>")
            xml.add(5, f"<Parameter{_attributes(Name='PostingModeOperational', Type=Edm.BOOLEAN)}/>")
            xml.add(4, "</FunctionImport>")
    xml.add(3, "</EntityContainer>")
    xml.add(2, "</Schema>")
    xml.add(1, "</edmx:DataServices>")
    xml.add(0, "</edmx:Edmx>")
    return "\n".join(xml.lines) + "\n"
