import pytest

from invoice_bridge.onec.schema import ItemReference, MetadataError, assumed_schema, parse_metadata

EDMX = """<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" Version="1.0">
  <edmx:DataServices xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
      m:DataServiceVersion="3.0">
    <Schema xmlns="http://schemas.microsoft.com/ado/2009/11/edm" Namespace="StandardODATA">
      <EntityType Name="Document_СчетНаОплатуПокупателю">
        <Key><PropertyRef Name="Ref_Key"/></Key>
        <Property Name="Ref_Key" Type="Edm.Guid" Nullable="false"/>
        <Property Name="Товары" Type="Collection(StandardODATA.Document_СчетНаОплатуПокупателю_Товары_RowType)"/>
      </EntityType>
      <ComplexType Name="Document_СчетНаОплатуПокупателю_Товары_RowType">
        <Property Name="LineNumber" Type="Edm.Int64"/>
        <Property Name="{item}" Type="Edm.String"/>
        {type_property}
      </ComplexType>
      {enum}
      <EntityContainer Name="StandardODATA" m:IsDefaultEntityContainer="true">
        <EntitySet Name="Document_СчетНаОплатуПокупателю" EntityType="StandardODATA.Document_СчетНаОплатуПокупателю"/>
        <EntitySet Name="Catalog_Контрагенты" EntityType="StandardODATA.Catalog_Контрагенты"/>
      </EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>"""
ENUM = '<EnumType Name="СтавкиНДС"><Member Name="НДС20" Value="0"/><Member Name="БезНДС" Value="1"/></EnumType>'


def edmx(*, composite: bool, enum: str = "") -> str:
    return (
        EDMX.replace("{item}", "Номенклатура" if composite else "Номенклатура_Key")
        .replace("{type_property}", '<Property Name="Номенклатура_Type" Type="Edm.String"/>' if composite else "")
        .replace("{enum}", enum)
    )


def test_release_3_0_198_lines_are_composite() -> None:
    schema = parse_metadata(edmx(composite=True))
    assert schema.item_reference("Document_СчетНаОплатуПокупателю") is ItemReference.COMPOSITE


def test_older_release_lines_are_single_keys() -> None:
    schema = parse_metadata(edmx(composite=False))
    assert schema.item_reference("Document_СчетНаОплатуПокупателю") is ItemReference.SINGLE


def test_published_sets_come_from_the_container() -> None:
    schema = parse_metadata(edmx(composite=True))
    assert schema.missing(("Catalog_Контрагенты", "Catalog_Валюты", "Document_СчетНаОплатуПокупателю")) == [
        "Catalog_Валюты"
    ]


def test_vat_rates_known_only_when_listed() -> None:
    listed = parse_metadata(edmx(composite=True, enum=ENUM))
    assert listed.lacks_vat_rate("НДС22")
    assert not listed.lacks_vat_rate("БезНДС")
    unlisted = parse_metadata(edmx(composite=True))
    assert not unlisted.lacks_vat_rate("НДС22")


@pytest.mark.parametrize(("text", "fragment"), [("not xml", "not XML"), ("<html/>", "not an EDMX")])
def test_unreadable_metadata_says_why(text: str, fragment: str) -> None:
    with pytest.raises(MetadataError, match=fragment):
        parse_metadata(text)


def test_entities_in_xml_are_not_expanded() -> None:
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><edmx:Edmx xmlns:edmx="e">&a;</edmx:Edmx>'
    with pytest.raises(Exception, match=r"(?i)entit"):
        parse_metadata(bomb)


def test_assumed_schema_is_release_3_0_198_with_unknown_rates() -> None:
    schema = assumed_schema(("Document_СчетНаОплатуПокупателю",))
    assert schema.item_reference("Document_СчетНаОплатуПокупателю") is ItemReference.COMPOSITE
    assert schema.vat_rates is None
