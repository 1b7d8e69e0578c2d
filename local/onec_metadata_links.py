"""The parts of 1C's `$metadata` that link types: navigation properties, associations and the tabular sections'
own entity types (issue 15, difference 3).

Source: a real 1C `$metadata` (onec_samples/ut_real_metadata_fragment.edmx and the full fixture it is cut from,
Romandredan/odata1c-gate tests/fixtures/edmx/ut-real.edmx): each single-type reference `X_Key` of an entity type
comes with `<NavigationProperty Name="X" Relationship="StandardODATA.<Type>_X" FromRole="Begin" ToRole="End"/>`,
and the schema has one `<Association Name="<Type>_X">` with ends Begin (`*`, the owner) and End (`0..1`, the
referenced type), listed after the enumerations; each tabular section is also an entity type (and an entity set)
`<Owner>_<Section>` keyed by `Ref_Key` and `LineNumber`, besides its `<Owner>_<Section>_RowType` complex type;
enumeration members carry a `Name` only; the container is `EnterpriseV8`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from local.onec_metadata import NAMESPACE, Edm, EntityType, Prop

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
