"""Catalogs written to the 1C sandbox (local.onec.catalogs): counterparties and contracts by POST and PATCH, INN
checks, description length, the items of the seed."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import unquote

import pytest
import requests

from local.onec.sandbox import OnecSandbox
from local.seed import (
    NOMENCLATURE_SERVICE_PLAN_ANNUAL,
    ORGANIZATION_KEY,
    SERVICE_PLAN_ANNUAL_ARTICLE,
)
from tests.local.onec.calls import NEW_BUYER, VECTOR, error_of, invoice, patch, post, post_to, rows, unique_comment


def test_counterparty_and_contract_creation(http: requests.Session, fresh: OnecSandbox) -> None:
    response = post_to(http, fresh, "Catalog_Контрагенты", NEW_BUYER)

    assert response.status_code == 201, response.text
    buyer = response.json()
    ref = buyer["Ref_Key"]
    assert uuid.UUID(ref).version == 4
    assert unquote(response.headers["Location"]) == f"{fresh.url}Catalog_Контрагенты(guid'{ref}')"
    assert buyer["Code"] == "00-000006"
    assert {k: buyer[k] for k in NEW_BUYER} == NEW_BUYER
    assert buyer["ГоловнойКонтрагент_Key"] == ref
    assert (buyer["ИННВведенКорректно"], buyer["КППВведенКорректно"]) == (True, True)
    assert (buyer["DeletionMark"], buyer["IsFolder"], buyer["ОбособленноеПодразделение"]) == (False, False, False)
    found = rows(http, fresh, "Catalog_Контрагенты", **{"$filter": "ИНН eq '7736050003' and КПП eq '773601001'"})
    assert [row["Ref_Key"] for row in found] == [ref]

    contract_body = {"Owner_Key": ref, "Организация_Key": ORGANIZATION_KEY, "ВидДоговора": "СПокупателем",
                     "Description": "Основной договор"}  # fmt: skip
    answer = post_to(http, fresh, "Catalog_ДоговорыКонтрагентов", contract_body)

    assert answer.status_code == 201, answer.text
    contract = answer.json()
    assert contract["Code"] == "00-000005"
    assert (contract["Owner_Key"], contract["ВидДоговора"]) == (ref, "СПокупателем")
    assert contract["Owner@navigationLinkUrl"] == f"Catalog_ДоговорыКонтрагентов(guid'{contract['Ref_Key']}')/Owner"
    body = invoice(unique_comment(), Контрагент_Key=ref, ДоговорКонтрагента_Key=contract["Ref_Key"])
    assert post(http, fresh, body).status_code == 201


def test_individual_with_a_wrong_inn_is_stored_but_flagged(http: requests.Session, sandbox: OnecSandbox) -> None:
    body = {"Description": "Сидоров ИП", "ЮридическоеФизическоеЛицо": "ФизическоеЛицо", "ИНН": "500100732258"}

    buyer = post_to(http, sandbox, "Catalog_Контрагенты", body).json()

    assert (buyer["ИННВведенКорректно"], buyer["КППВведенКорректно"], buyer["КПП"]) == (False, False, "")


@pytest.mark.parametrize(
    ("change", "code", "fragment"),
    [
        ({"Description": "Я" * 101}, "4", "Description"),
        ({"Description": " "}, "5", "Description"),
        ({"ЮридическоеФизическоеЛицо": ""}, "5", "ЮридическоеФизическоеЛицо"),
        ({"ЮридическоеФизическоеЛицо": "ИндивидуальныйПредприниматель"}, "4", "ЮридическоеФизическоеЛицо"),
        ({"ОГРН": "1027700132195"}, "10", "ОГРН"),
        ({"ИНН": 7736050003}, "4", "ИНН"),
        ({"ГоловнойКонтрагент_Key": str(uuid.uuid4())}, "4", "ГоловнойКонтрагент_Key"),
    ],
)
def test_invalid_counterparties_are_rejected(
    http: requests.Session, sandbox: OnecSandbox, change: dict[str, Any], code: str, fragment: str
) -> None:
    status, got, message = error_of(post_to(http, sandbox, "Catalog_Контрагенты", {**NEW_BUYER, **change}))

    assert (status, got) == (400, code)
    assert fragment in message


def test_description_of_exactly_100_characters_is_fine(http: requests.Session, sandbox: OnecSandbox) -> None:
    response = post_to(http, sandbox, "Catalog_Контрагенты", {**NEW_BUYER, "Description": "Я" * 100})

    assert response.status_code == 201, response.text


def test_too_long_description_by_patch_is_refused(http: requests.Session, sandbox: OnecSandbox) -> None:
    buyer = post_to(http, sandbox, "Catalog_Контрагенты", NEW_BUYER).json()

    response = patch(http, sandbox, "Catalog_Контрагенты", buyer["Ref_Key"], {"Description": "Я" * 101})
    renamed = patch(http, sandbox, "Catalog_Контрагенты", buyer["Ref_Key"], {"Description": "Ландыш АО"})

    assert error_of(response)[:2] == (400, "4")
    assert renamed.json()["Description"] == "Ландыш АО"
    assert renamed.json()["Code"] == buyer["Code"]


@pytest.mark.parametrize(
    ("change", "code", "fragment"),
    [
        ({"Owner_Key": str(uuid.uuid4())}, "4", "Owner_Key"),
        ({"Owner_Key": "00000000-0000-0000-0000-000000000000"}, "5", "Owner_Key"),
        ({"Организация_Key": str(uuid.uuid4())}, "4", "Организация_Key"),
        ({"ВидДоговора": "СПокупателемИПоставщиком"}, "4", "ВидДоговора"),
        ({"ВидДоговора": ""}, "5", "ВидДоговора"),
        ({"Description": ""}, "5", "Description"),
        ({"ВалютаВзаиморасчетов_Key": str(uuid.uuid4())}, "4", "ВалютаВзаиморасчетов_Key"),
    ],
)
def test_invalid_contracts_are_rejected(
    http: requests.Session, sandbox: OnecSandbox, change: dict[str, Any], code: str, fragment: str
) -> None:
    body = {"Owner_Key": VECTOR, "Организация_Key": ORGANIZATION_KEY, "ВидДоговора": "СПокупателем",
            "Description": "Договор", **change}  # fmt: skip

    status, got, message = error_of(post_to(http, sandbox, "Catalog_ДоговорыКонтрагентов", body))

    assert (status, got) == (400, code)
    assert fragment in message


def test_new_seed_item_has_an_article(http: requests.Session, sandbox: OnecSandbox) -> None:
    (item,) = rows(http, sandbox, "Catalog_Номенклатура", **{"$filter": f"Артикул eq '{SERVICE_PLAN_ANNUAL_ARTICLE}'"})

    assert item["Ref_Key"] == NOMENCLATURE_SERVICE_PLAN_ANNUAL
    assert item["Услуга"] is True
