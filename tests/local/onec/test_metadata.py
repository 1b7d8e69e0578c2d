"""The 1C sandbox's `$metadata` (local.onec.metadata): EDMX shape, Post/Unpost, release shapes and VAT rates,
published sets only, every property served declared."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from local.onec.documents import RECEIPTS
from local.onec.model import INVOICE_SET, SALE_SET, TAX_INVOICE_SET
from local.onec.registers import PAYMENTS, STATUSES
from local.onec.releases import OnecFlavour
from local.onec.sandbox import OnecSandbox
from tests.local.onec.calls import (
    EDM,
    EDMX,
    NEW_RATES,
    ROW_TYPE,
    SALE_ROW_TYPE,
    M,
    entity_type,
    enum_members,
    error_of,
    invoice,
    metadata_of,
    post,
    post_to,
    property_types,
    rows,
    sale_body,
    tax_invoice_body,
    unique_comment,
)


def test_metadata_needs_basic_auth(sandbox: OnecSandbox) -> None:
    response = requests.get(sandbox.url + "$metadata", timeout=10)

    assert error_of(response)[:2] == (401, "20")


def test_metadata_has_1c_edmx_shape(http: requests.Session, sandbox: OnecSandbox) -> None:
    root = metadata_of(http, sandbox)

    assert root.tag == f"{EDMX}Edmx"
    services = root.find(f"{EDMX}DataServices")
    assert services is not None
    assert services.get(f"{M}DataServiceVersion") == "3.0"
    schema = services.find(f"{EDM}Schema")
    assert schema is not None
    assert schema.get("Namespace") == "StandardODATA"
    container = schema.find(f"{EDM}EntityContainer")
    assert container is not None
    # the real container is named EnterpriseV8 (ut-real.edmx); tabular sections are entity sets too
    assert (container.get("Name"), container.get(f"{M}IsDefaultEntityContainer")) == ("EnterpriseV8", "true")
    sets = {e.get("Name"): e.get("EntityType") for e in container.iter(f"{EDM}EntitySet")}
    assert sets == {name: f"StandardODATA.{name}" for name in [
        "Catalog_Контрагенты", "Catalog_Контрагенты_КонтактнаяИнформация", "Catalog_Номенклатура",
        "Catalog_Организации", "Catalog_Организации_КонтактнаяИнформация", "Catalog_ДоговорыКонтрагентов",
        "Catalog_Валюты", INVOICE_SET, f"{INVOICE_SET}_Товары", f"{INVOICE_SET}_ВозвратнаяТара",
        f"{INVOICE_SET}_РеквизитыКодаДляОплаты", SALE_SET, f"{SALE_SET}_Товары", f"{SALE_SET}_Услуги",
        TAX_INVOICE_SET, f"{TAX_INVOICE_SET}_ДокументыОснования", "Catalog_БанковскиеСчета", "Catalog_Склады",
        "ChartOfAccounts_Хозрасчетный", RECEIPTS, f"{RECEIPTS}_РасшифровкаПлатежа", STATUSES, PAYMENTS]}  # fmt: skip
    invoice_type = entity_type(root, INVOICE_SET)
    assert invoice_type is not None
    assert [ref.get("Name") for ref in invoice_type.iter(f"{EDM}PropertyRef")] == ["Ref_Key"]
    types = property_types(root, "EntityType", INVOICE_SET)
    assert types["Ref_Key"] == "Edm.Guid"
    assert types["DataVersion"] == "Edm.String"
    assert types["Date"] == "Edm.DateTime"
    assert types["Posted"] == types["DeletionMark"] == types["СуммаВключаетНДС"] == "Edm.Boolean"
    assert types["Контрагент_Key"] == types["ВалютаДокумента_Key"] == "Edm.Guid"
    assert types["СуммаДокумента"] == types["КурсВзаиморасчетов"] == "Edm.Double"
    assert types["КратностьВзаиморасчетов"] == "Edm.Int64"
    assert types["ВидОперации"] == types["Комментарий"] == "Edm.String"
    assert types["Товары"] == f"Collection(StandardODATA.{ROW_TYPE})"
    assert property_types(root, "EntityType", TAX_INVOICE_SET)["ДокументыОснования"] == (
        "Collection(StandardODATA.Document_СчетФактураВыданный_ДокументыОснования_RowType)"
    )
    rows = property_types(root, "ComplexType", ROW_TYPE)
    assert rows["LineNumber"] == "Edm.Int64"
    assert rows["СтавкаНДС"] == "Edm.String"  # enums are strings holding the value name
    assert rows["Количество"] == rows["СуммаНДС"] == "Edm.Double"


def test_metadata_declares_post_and_unpost_for_each_document(http: requests.Session, sandbox: OnecSandbox) -> None:
    root = metadata_of(http, sandbox)

    bound: dict[str, set[str]] = {}
    for function in root.iter(f"{EDM}FunctionImport"):
        assert function.get("IsBindable") == "true"
        parameters = {p.get("Name"): p.get("Type") for p in function.iter(f"{EDM}Parameter")}
        assert parameters["PostingModeOperational"] == "Edm.Boolean"
        bound.setdefault(str(function.get("Name")), set()).add(str(parameters["bindingParameter"]))
    documents = {f"StandardODATA.{name}" for name in (INVOICE_SET, SALE_SET, TAX_INVOICE_SET, RECEIPTS)}
    assert bound == {"Post": documents, "Unpost": documents}


@pytest.mark.parametrize(
    ("flavour", "line", "absent"),
    [
        (OnecFlavour.BP_3_0_198, {"Номенклатура", "Номенклатура_Type"}, "Номенклатура_Key"),
        (OnecFlavour.BP_2018, {"Номенклатура_Key"}, "Номенклатура"),
    ],
)
def test_metadata_shows_the_release_line_shape(
    http: requests.Session, flavour: OnecFlavour, line: set[str], absent: str
) -> None:
    with OnecSandbox(flavour=flavour) as release:
        root = metadata_of(http, release)

    invoice_line = property_types(root, "ComplexType", ROW_TYPE)
    assert line <= set(invoice_line)
    assert absent not in invoice_line
    sale_line = property_types(root, "ComplexType", SALE_ROW_TYPE)  # single-typed in every release
    assert sale_line["Номенклатура_Key"] == "Edm.Guid"
    assert "Номенклатура_Type" not in sale_line
    services = property_types(root, "ComplexType", "Document_РеализацияТоваровУслуг_Услуги_RowType")
    assert {"Номенклатура_Key", "Содержание", "СтавкаНДС", "СуммаНДС"} <= set(services)


def test_metadata_lists_the_vat_rates_of_each_release(http: requests.Session, old_release: OnecSandbox) -> None:
    with OnecSandbox() as current:
        current_rates = enum_members(metadata_of(http, current), "СтавкиНДС")
    old_rates = enum_members(metadata_of(http, old_release), "СтавкиНДС")

    assert set(NEW_RATES) <= set(current_rates)
    assert {"НДС20", "НДС20_120", "НДС10", "НДС10_110", "НДС0", "БезНДС", "НДС18", "НДС18_118"} <= set(old_rates)
    assert not set(NEW_RATES) & set(old_rates)
    assert current_rates == [*old_rates[:8], "НДС5", "НДС5_105", "НДС7", "НДС7_107", "НДС22", "НДС22_122"]


def test_metadata_leaves_out_unpublished_sets(http: requests.Session) -> None:
    hidden = frozenset({"Catalog_ДоговорыКонтрагентов", TAX_INVOICE_SET})
    with OnecSandbox(unpublished=hidden) as narrowed:
        root = metadata_of(http, narrowed)

    sets = {e.get("Name") for e in root.iter(f"{EDM}EntitySet")}
    assert "Catalog_Контрагенты" in sets
    assert not sets & hidden
    assert entity_type(root, "Catalog_ДоговорыКонтрагентов") is None
    assert entity_type(root, TAX_INVOICE_SET) is None
    bindings = {p.get("Type") for p in root.iter(f"{EDM}Parameter") if p.get("Name") == "bindingParameter"}
    assert f"StandardODATA.{TAX_INVOICE_SET}" not in bindings


def test_metadata_declares_every_property_the_sandbox_serves(http: requests.Session, fresh: OnecSandbox) -> None:
    sale = post_to(http, fresh, SALE_SET, sale_body(unique_comment())).json()
    post_to(http, fresh, TAX_INVOICE_SET, tax_invoice_body(sale["Ref_Key"]))
    post(http, fresh, invoice(unique_comment()))
    [paid] = fresh.documents(INVOICE_SET)
    fresh.accountant.post(str(paid["Ref_Key"]))
    fresh.accountant.record_receipt(str(paid["Ref_Key"]), Decimal("100.00"))  # a receipt and both registers
    root = metadata_of(http, fresh)

    for name in [e.get("Name", "") for e in root.iter(f"{EDM}EntitySet")]:
        declared = property_types(root, "EntityType", name)
        served = rows(http, fresh, name)
        assert served or name.count("_") > 1, name  # a tabular section's own set may have no rows
        for row in served:
            for prop, value in row.items():
                if "@" in prop:
                    continue
                assert prop in declared, f"{name}.{prop}"
                if isinstance(value, list):
                    row_type = declared[prop].removeprefix("Collection(StandardODATA.").removesuffix(")")
                    columns = property_types(root, "ComplexType", row_type)
                    assert all(column in columns for line in value for column in line), f"{name}.{prop}"


def test_metadata_is_not_an_entity_set_for_other_methods(http: requests.Session, sandbox: OnecSandbox) -> None:
    assert error_of(http.post(sandbox.url + "$metadata", timeout=10))[:2] == (405, "19")
