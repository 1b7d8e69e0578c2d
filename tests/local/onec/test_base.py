"""The seeded base as the 1C sandbox serves it (local.onec.base): collection and entity shapes, the catalogs' rows."""

from __future__ import annotations

import uuid

import requests

from local.onec.sandbox import OnecSandbox
from local.seed import (
    ONEC_BASE,
    ORGANIZATION_KEY,
    RUB_KEY,
)
from tests.local.onec.calls import ROMASHKA, VECTOR, VECTOR_CONTRACT, error_of, get, rows


def test_collection_shape(http: requests.Session, sandbox: OnecSandbox) -> None:
    body = get(http, sandbox, "Catalog_Контрагенты").json()

    assert body["odata.metadata"] == f"{sandbox.url}$metadata#Catalog_Контрагенты"
    assert [row["Ref_Key"] for row in body["value"]] == [cp.ref_key for cp in ONEC_BASE.counterparties]
    first = body["value"][0]
    assert first["DataVersion"] == "AAAAAQAAAAA="
    assert first["DeletionMark"] is False
    assert first["Parent_Key"] == "00000000-0000-0000-0000-000000000000"
    assert first["IsFolder"] is False
    assert first["Predefined"] is False
    assert first["PredefinedDataName"] == ""
    assert (first["Code"], first["ИНН"], first["КПП"]) == ("00-000001", "7707083893", "773601001")
    assert first["ЮридическоеФизическоеЛицо"] == "ЮридическоеЛицо"


def test_branch_counterparty_points_at_its_head(http: requests.Session, sandbox: OnecSandbox) -> None:
    (branch,) = rows(http, sandbox, "Catalog_Контрагенты", **{"$filter": "КПП eq '710743001'"})

    assert branch["ОбособленноеПодразделение"] is True
    assert branch["ГоловнойКонтрагент_Key"] == ROMASHKA


def test_single_entity_shape(http: requests.Session, sandbox: OnecSandbox) -> None:
    body = get(http, sandbox, f"Catalog_Организации(guid'{ORGANIZATION_KEY}')").json()

    assert body["odata.metadata"] == f"{sandbox.url}$metadata#Catalog_Организации/@Element"
    assert "value" not in body
    assert body["Ref_Key"] == ORGANIZATION_KEY
    assert (body["ИНН"], body["КПП"], body["Префикс"]) == ("7704407589", "770401001", "БС")
    assert body["НаименованиеПолное"] == "Общество с ограниченной ответственностью «Бридж Софт»"


def test_catalog_shapes_carry_the_documented_properties(http: requests.Session, sandbox: OnecSandbox) -> None:
    (contract,) = rows(http, sandbox, "Catalog_ДоговорыКонтрагентов", **{"$filter": f"Ref_Key eq '{VECTOR_CONTRACT}'"})
    (laptop,) = rows(http, sandbox, "Catalog_Номенклатура", **{"$filter": "Code eq '00-00000101'"})
    (rub,) = rows(http, sandbox, "Catalog_Валюты")

    assert contract["Owner_Key"] == VECTOR
    assert contract["Организация_Key"] == ORGANIZATION_KEY
    assert contract["ВидДоговора"] == "СПокупателем"
    assert contract["ВалютаВзаиморасчетов_Key"] == RUB_KEY
    assert contract["Owner@navigationLinkUrl"] == f"Catalog_ДоговорыКонтрагентов(guid'{VECTOR_CONTRACT}')/Owner"
    assert "ТипЦен@navigationLinkUrl" not in contract  # 1C links only non-empty references
    assert (laptop["Артикул"], laptop["Услуга"], laptop["ВидСтавкиНДС"]) == ("", False, "Общая")
    assert (rub["Code"], rub["Description"], rub["НаименованиеПолное"]) == ("643", "руб.", "Российский рубль")


def test_missing_single_entity_is_404_code_9(http: requests.Session, sandbox: OnecSandbox) -> None:
    response = get(http, sandbox, f"Catalog_Контрагенты(guid'{uuid.uuid4()}')")

    assert error_of(response)[:2] == (404, "9")
