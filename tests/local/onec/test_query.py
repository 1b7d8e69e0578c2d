"""The 1C sandbox's query language (local.onec.filter, local.onec.query): `$filter`, `$select`, `$top`/`$skip`,
`$orderby`, `$inlinecount`, and the errors of a malformed query."""

from __future__ import annotations

import pytest
import requests

from local.onec.sandbox import OnecSandbox
from local.seed import (
    NOMENCLATURE_BABY_FOOD,
    NOMENCLATURE_LAPTOP,
    ONEC_BASE,
    ORGANIZATION_KEY,
)
from tests.local.onec.calls import ROMASHKA, VECTOR, VECTOR_CONTRACT, descriptions, error_of, get, rows


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ("ИНН eq '7707083893' and КПП eq '773601001'", ["Ромашка ООО"]),
        ("ИНН eq '7736207543' or ИНН eq '500100732259'", ["Вектор АО", "Иванов Пётр Сергеевич ИП"]),
        ("ИНН eq '7707083893' and not (КПП eq '773601001')", ["Ромашка ООО (Тульский филиал)"]),
        (
            "not ОбособленноеПодразделение and (КПП eq '710743001' or КПП eq '')",
            ["Петрова Анна Викторовна ИП", "Иванов Пётр Сергеевич ИП"],
        ),
        ("(ИНН eq '7707083893' or ИНН eq '7736207543') and КПП ne '710743001'", ["Ромашка ООО", "Вектор АО"]),
        ("ЮридическоеФизическоеЛицо eq 'ФизическоеЛицо'", ["Петрова Анна Викторовна ИП", "Иванов Пётр Сергеевич ИП"]),
        ("substringof('Ромашка', Description) and ОбособленноеПодразделение eq true",
         ["Ромашка ООО (Тульский филиал)"]),
        ("startswith(Description, 'Вектор') or endswith(Code, '04')", ["Вектор АО", "Иванов Пётр Сергеевич ИП"]),
        ("Code gt '00-000002' and Code le '00-000003'", ["Вектор АО"]),
        ("ИНН eq null", []),
        ("ИНН eq 'O''Brien'", []),
    ],
)  # fmt: skip
def test_filter_logic(http: requests.Session, sandbox: OnecSandbox, flt: str, expected: list[str]) -> None:
    assert descriptions(http, sandbox, flt) == expected


@pytest.mark.parametrize(
    "flt",
    [
        f"Owner_Key eq guid'{VECTOR}'",
        f"Owner_Key eq guid'{VECTOR.upper()}'",
        f"Owner_Key eq '{VECTOR}'",
        f"Owner_Key eq guid'{VECTOR}' and Организация_Key eq guid'{ORGANIZATION_KEY}'",
    ],
)
def test_filter_on_keys_accepts_guid_and_plain_string(http: requests.Session, sandbox: OnecSandbox, flt: str) -> None:
    found = rows(http, sandbox, "Catalog_ДоговорыКонтрагентов", **{"$filter": flt})

    assert [row["Ref_Key"] for row in found] == [VECTOR_CONTRACT]


def test_filter_on_a_key_accepts_cast(http: requests.Session, sandbox: OnecSandbox) -> None:
    flt = f"Owner_Key eq cast(guid'{VECTOR}', 'StandardODATA.Catalog_Контрагенты')"

    assert [row["Ref_Key"] for row in rows(http, sandbox, "Catalog_ДоговорыКонтрагентов", **{"$filter": flt})] == [
        VECTOR_CONTRACT
    ]


def test_select_and_top(http: requests.Session, sandbox: OnecSandbox) -> None:
    found = rows(http, sandbox, "Catalog_Номенклатура", **{"$select": "Ref_Key, Description,Услуга", "$top": "2"})

    assert found == [
        {"Ref_Key": NOMENCLATURE_LAPTOP, "Description": "Ноутбук ProBook 450 G10", "Услуга": False},
        {"Ref_Key": NOMENCLATURE_BABY_FOOD, "Description": "Детское питание", "Услуга": False},
    ]


def test_orderby_skip_and_inlinecount(http: requests.Session, sandbox: OnecSandbox) -> None:
    body = get(
        http, sandbox, "Catalog_Номенклатура", **{"$orderby": "Code desc", "$skip": "1", "$top": "2",
                                                  "$inlinecount": "allpages", "$select": "Code"}
    ).json()  # fmt: skip

    assert body["odata.count"] == str(len(ONEC_BASE.nomenclature))
    assert body["value"] == [{"Code": "00-00000105"}, {"Code": "00-00000104"}]


@pytest.mark.parametrize(
    "flt",
    [
        "ИНН eq",
        "(ИНН eq '7707083893'",
        "ИНН eq '7707083893')",
        "ИНН eq '7707083893",
        "ИНН eq '1' and",
        "ИНН == '1'",
        "ИНН eq '1' КПП eq '2'",
        "substringof('x')",
        "contains(Description, 'x')",
        "Ref_Key eq guid'not-a-guid'",
        "ИНН eq datetime'2026-13-01T00:00:00'",
        "and",
        "",
        "ИНН",
        "Description gt true",
        f"Ref_Key eq cast(guid'{ROMASHKA}', Code)",
        f"Ref_Key eq cast(guid'{ROMASHKA}')",
        "Ref_Key eq cast(1, 'Catalog_Контрагенты')",
        f"Ref_Key gt cast(guid'{ROMASHKA}', 'Catalog_Контрагенты')",
    ],
)
def test_malformed_filter_is_400_code_14(http: requests.Session, sandbox: OnecSandbox, flt: str) -> None:
    status, code, message = error_of(get(http, sandbox, "Catalog_Контрагенты", **{"$filter": flt}))

    assert (status, code) == (400, "14")
    assert message


@pytest.mark.parametrize(
    "params",
    [{"$filter": "ОГРН eq '1'"}, {"$select": "Description,ОГРН"}, {"$orderby": "ОГРН"}],
)
def test_unknown_property_is_400_code_10(http: requests.Session, sandbox: OnecSandbox, params: dict[str, str]) -> None:
    status, code, message = error_of(get(http, sandbox, "Catalog_Контрагенты", **params))

    assert (status, code) == (400, "10")
    assert "ОГРН" in message


def test_bad_top_is_400_code_14(http: requests.Session, sandbox: OnecSandbox) -> None:
    assert error_of(get(http, sandbox, "Catalog_Валюты", **{"$top": "-1"}))[:2] == (400, "14")
