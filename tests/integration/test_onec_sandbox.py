"""The 1C OData sandbox over real HTTP: auth, shapes, $filter/$select/$top, creation of documents and catalog
items, PATCH, posting, $metadata, release flavours, faults, latency and the session cap."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote, unquote
from xml.etree.ElementTree import Element

import pytest
import requests
from defusedxml import ElementTree

from local.onec_accounting import PAYMENTS, RECEIPTS, STATUSES
from local.onec_posting_checks import (
    ACCOUNT_CODES,
    SALE_HEADER_ACCOUNTS,
    SALE_LINE_ACCOUNTS,
    SERVICE_LINE_ACCOUNTS,
    WAREHOUSE_KEY,
)
from local.onec_sandbox import (
    INVOICE_SET,
    NOMENCLATURE_TYPE,
    SALE_SET,
    SALE_TYPE,
    TAX_INVOICE_SET,
    OnecFlavour,
    OnecSandbox,
)
from local.seed import (
    NOMENCLATURE_BABY_FOOD,
    NOMENCLATURE_LAPTOP,
    NOMENCLATURE_SERVICE_PLAN_ANNUAL,
    ONEC_BASE,
    ONEC_PASSWORD,
    ONEC_USERNAME,
    ORGANIZATION_KEY,
    RUB_KEY,
    SERVICE_PLAN_ANNUAL_ARTICLE,
)

ROMASHKA = "b7569c0f-f670-11ea-8591-000c29b45b09"
ROMASHKA_TULA = "b7569c1f-f670-11ea-8591-000c29b45b09"
VECTOR = "b7569c2f-f670-11ea-8591-000c29b45b09"
ROMASHKA_CONTRACT = "c1a00001-f670-11ea-8591-000c29b45b09"
VECTOR_CONTRACT = "c1a00003-f670-11ea-8591-000c29b45b09"
JSON = {"$format": "json"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[OnecSandbox]:
    with OnecSandbox() as running:
        yield running


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.auth = (ONEC_USERNAME, ONEC_PASSWORD)
        yield session


def get(http: requests.Session, sandbox: OnecSandbox, resource: str, **params: str) -> requests.Response:
    return http.get(sandbox.url + resource, params={**JSON, **params}, timeout=10)


def rows(http: requests.Session, sandbox: OnecSandbox, resource: str, **params: str) -> list[dict[str, Any]]:
    response = get(http, sandbox, resource, **params)
    assert response.status_code == 200, response.text
    value: list[dict[str, Any]] = response.json()["value"]
    return value


def error_of(response: requests.Response) -> tuple[int, str, str]:
    assert response.headers["Content-Type"] == "application/json;charset=utf-8"
    error = response.json()["odata.error"]
    assert error["message"]["lang"] == "ru"
    return response.status_code, error["code"], error["message"]["value"]


def invoice(comment: str = "Bitrix24 deal", **header: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Date": "2026-02-10T12:00:00",
        "ВидОперации": "ТоварыИУслуги",
        "Организация_Key": ORGANIZATION_KEY,
        "Контрагент_Key": ROMASHKA,
        "ДоговорКонтрагента_Key": ROMASHKA_CONTRACT,
        "ВалютаДокумента_Key": RUB_KEY,
        "КурсВзаиморасчетов": 1,
        "КратностьВзаиморасчетов": 1,
        "СуммаВключаетНДС": True,
        "Комментарий": comment,
        "Товары": [
            {
                "LineNumber": "1",
                "Номенклатура": NOMENCLATURE_LAPTOP,
                "Номенклатура_Type": "StandardODATA.Catalog_Номенклатура",
                "Количество": 2,
                "Цена": 122000,
                "Сумма": 244000,
                "СтавкаНДС": "НДС22",
                "СуммаНДС": 44000,
            }
        ],
    }
    body.update(header)
    return body


def post(http: requests.Session, sandbox: OnecSandbox, body: dict[str, Any] | str) -> requests.Response:
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return http.post(
        sandbox.url + INVOICE_SET,
        params=JSON,
        data=text.encode("utf-8"),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )


def unique_comment(text: str = "deal") -> str:
    return f"{text} [b24:{uuid.uuid4().hex[:8]}:deal:1]"


# ---- auth and routing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", [None, (ONEC_USERNAME, "wrong"), ("someone", ONEC_PASSWORD)])
def test_wrong_or_missing_credentials_get_401(sandbox: OnecSandbox, auth: tuple[str, str] | None) -> None:
    response = requests.get(sandbox.url + "Catalog_Валюты", params=JSON, auth=auth, timeout=10)

    assert response.headers["WWW-Authenticate"] == 'Basic realm="1C"'
    assert error_of(response)[0] == 401
    assert "value" not in response.json()


def test_utf8_credentials_are_accepted() -> None:
    with OnecSandbox(username="Администратор", password="пароль") as cyrillic:
        token = "Basic " + base64.b64encode("Администратор:пароль".encode()).decode()
        response = requests.get(
            cyrillic.url + "Catalog_Валюты", params=JSON, headers={"Authorization": token}, timeout=10
        )

    assert response.status_code == 200


def test_url_is_the_service_root(sandbox: OnecSandbox) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/bp30/odata/standard\.odata/", sandbox.url)


def test_an_unknown_format_is_refused(http: requests.Session, sandbox: OnecSandbox) -> None:
    # Atom by default and JSON by Accept are in test_onec_strictness.py
    csv = http.get(sandbox.url + "Catalog_Валюты", params={"$format": "csv"}, timeout=10)

    assert error_of(csv)[:2] == (400, "3")


@pytest.mark.parametrize("entity_set", ["Catalog_Кассы", "Document_ПоступлениеТоваровУслуг"])
def test_unknown_entity_set_is_404_code_8(http: requests.Session, sandbox: OnecSandbox, entity_set: str) -> None:
    status, code, message = error_of(get(http, sandbox, entity_set))

    assert (status, code) == (404, "8")
    assert entity_set in message


def test_unpublished_entity_set_is_404_code_8(http: requests.Session) -> None:
    with OnecSandbox(unpublished=frozenset({"Catalog_ДоговорыКонтрагентов"})) as narrowed:
        hidden = get(http, narrowed, "Catalog_ДоговорыКонтрагентов")
        visible = get(http, narrowed, "Catalog_Контрагенты")

    assert error_of(hidden)[:2] == (404, "8")
    assert "Catalog_ДоговорыКонтрагентов" in error_of(hidden)[2]
    assert visible.status_code == 200


def test_cyrillic_path_is_percent_decoded(http: requests.Session, sandbox: OnecSandbox) -> None:
    encoded = sandbox.url + quote("Catalog_Валюты")
    response = http.get(encoded, params=JSON, timeout=10)

    assert response.status_code == 200
    assert response.json()["value"][0]["Code"] == "643"


# ---- shapes --------------------------------------------------------------------------------------------


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


# ---- query options -------------------------------------------------------------------------------------


def descriptions(http: requests.Session, sandbox: OnecSandbox, flt: str) -> list[str]:
    return [row["Description"] for row in rows(http, sandbox, "Catalog_Контрагенты", **{"$filter": flt})]


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


# ---- creating invoices ---------------------------------------------------------------------------------


def test_post_creates_a_draft_invoice(http: requests.Session, sandbox: OnecSandbox) -> None:
    comment = unique_comment()
    response = post(http, sandbox, invoice(comment))

    assert response.status_code == 201, response.text
    created = response.json()
    ref = created["Ref_Key"]
    assert uuid.UUID(ref).version == 4
    assert unquote(response.headers["Location"]) == f"{sandbox.url}{INVOICE_SET}(guid'{ref}')"
    assert created["odata.metadata"] == f"{sandbox.url}$metadata#{INVOICE_SET}/@Element"
    assert re.fullmatch(r"БС00-\d{6}", created["Number"])
    assert re.fullmatch(r"[A-Za-z0-9+/]{11}=", created["DataVersion"])
    assert created["Posted"] is False
    assert created["DeletionMark"] is False
    assert created["Date"] == "2026-02-10T12:00:00"
    assert created["Комментарий"] == comment
    assert created["СуммаДокумента"] == 244000
    (line,) = created["Товары"]
    assert line["LineNumber"] == "1"
    assert line["Ref_Key"] == ref
    assert line["Номенклатура"] == NOMENCLATURE_LAPTOP
    stored = [doc for doc in sandbox.documents() if doc["Ref_Key"] == ref]
    assert len(stored) == 1
    assert stored[0]["Комментарий"] == comment
    again = get(http, sandbox, f"{INVOICE_SET}(guid'{ref}')").json()
    assert again["Number"] == created["Number"]
    assert again["Контрагент@navigationLinkUrl"] == f"{INVOICE_SET}(guid'{ref}')/Контрагент"


def test_numbers_follow_a_sequence(http: requests.Session, sandbox: OnecSandbox) -> None:
    first = post(http, sandbox, invoice(unique_comment())).json()["Number"]
    second = post(http, sandbox, invoice(unique_comment())).json()["Number"]
    next_year = post(http, sandbox, invoice(unique_comment(), Date="2027-01-05T09:00:00")).json()["Number"]

    assert int(second[-6:]) == int(first[-6:]) + 1
    assert next_year == "БС00-000001"


def test_concurrent_posts_get_distinct_numbers(http: requests.Session, sandbox: OnecSandbox) -> None:
    numbers: list[str] = []

    def create() -> None:
        with requests.Session() as own:
            own.auth = (ONEC_USERNAME, ONEC_PASSWORD)
            numbers.append(post(own, sandbox, invoice(unique_comment(), Date="2030-03-01T00:00:00")).json()["Number"])

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(numbers) == [f"БС00-{n:06d}" for n in range(1, 9)]


def test_quote_in_comment_round_trips_through_substringof(http: requests.Session, sandbox: OnecSandbox) -> None:
    comment = f"O'Brien [b24:{uuid.uuid4().hex[:6]}:deal:1]"
    ref = post(http, sandbox, invoice(comment)).json()["Ref_Key"]
    needle = comment.replace("'", "''")

    found = rows(http, sandbox, INVOICE_SET, **{"$filter": f"substringof('{needle}', Комментарий)"})
    exact = rows(http, sandbox, INVOICE_SET, **{"$filter": f"Комментарий eq '{needle}' and Posted eq false"})

    assert [doc["Ref_Key"] for doc in found] == [ref]
    assert [doc["Ref_Key"] for doc in exact] == [ref]
    assert found[0]["Комментарий"] == comment


def test_filter_documents_by_date_and_reference(http: requests.Session, sandbox: OnecSandbox) -> None:
    ref = post(http, sandbox, invoice(unique_comment(), Date="2031-06-15T10:30:00")).json()["Ref_Key"]
    flt = (
        "Date ge datetime'2031-06-15T00:00:00' and Date lt datetime'2031-06-16T00:00:00'"
        f" and Контрагент_Key eq guid'{ROMASHKA}'"
    )

    assert [doc["Ref_Key"] for doc in rows(http, sandbox, INVOICE_SET, **{"$filter": flt})] == [ref]


def test_money_stays_exact(http: requests.Session, sandbox: OnecSandbox) -> None:
    text = json.dumps(invoice(unique_comment(), СуммаВключаетНДС=False, Товары=[]), ensure_ascii=False)
    rows_json = (
        '[{"LineNumber": 1, "Содержание": "Детское питание", "Количество": 3, "Цена": 90000.00,'
        ' "Сумма": 270000.00, "СтавкаНДС": "НДС10", "СуммаНДС": 24545.45},'
        ' {"LineNumber": 2, "Содержание": "Мелочь", "Количество": 1, "Цена": 0.1,'
        ' "Сумма": 0.1, "СтавкаНДС": "БезНДС", "СуммаНДС": 0.2}]'
    )
    response = post(http, sandbox, text.replace('"Товары": []', f'"Товары": {rows_json}'))

    assert response.status_code == 201, response.text
    assert '"СуммаНДС":24545.45' in response.text
    created = json.loads(response.text, parse_float=Decimal)
    assert created["СуммаДокумента"] == Decimal("294545.75")
    assert [line["LineNumber"] for line in created["Товары"]] == ["1", "2"]
    assert created["Товары"][0]["Сумма"] == Decimal("270000")
    stored = next(doc for doc in sandbox.documents() if doc["Ref_Key"] == created["Ref_Key"])
    assert stored["Товары"][0]["СуммаНДС"] == Decimal("24545.45")


def test_row_by_content_only_is_accepted(http: requests.Session, sandbox: OnecSandbox) -> None:
    row = {"LineNumber": "1", "Содержание": "Консультация", "Количество": 2.5, "Цена": 1500.5, "Сумма": 3751.25,
           "СтавкаНДС": "БезНДС", "СуммаНДС": 0}  # fmt: skip
    response = post(http, sandbox, invoice(unique_comment(), Товары=[row]))

    assert response.status_code == 201, response.text
    assert response.json()["Товары"][0]["Номенклатура_Type"] == "StandardODATA.Undefined"


def test_row_without_line_number_is_500_code_minus_1(http: requests.Session, sandbox: OnecSandbox) -> None:
    comment = unique_comment()
    body = invoice(comment)
    del body["Товары"][0]["LineNumber"]

    status, code, message = error_of(post(http, sandbox, body))

    assert (status, code) == (500, "-1")
    assert message.startswith("Произошла внутренняя ошибка OData сервиса")
    assert not [doc for doc in sandbox.documents() if doc["Комментарий"] == comment]


def test_posted_in_body_is_rejected(http: requests.Session, sandbox: OnecSandbox) -> None:
    status, code, message = error_of(post(http, sandbox, invoice(unique_comment(), Posted=True)))

    assert (status, code) == (400, "16")
    assert "Posted" in message


@pytest.mark.parametrize(
    ("header", "property_name"),
    [
        ({"Организация_Key": str(uuid.uuid4())}, "Организация_Key"),
        ({"Контрагент_Key": str(uuid.uuid4())}, "Контрагент_Key"),
        ({"ДоговорКонтрагента_Key": str(uuid.uuid4())}, "ДоговорКонтрагента_Key"),
        ({"ВалютаДокумента_Key": "643"}, "ВалютаДокумента_Key"),
        ({"ДоговорКонтрагента_Key": VECTOR_CONTRACT}, "ДоговорКонтрагента_Key"),
    ],
)
def test_unknown_reference_is_400_code_4(
    http: requests.Session, sandbox: OnecSandbox, header: dict[str, str], property_name: str
) -> None:
    status, code, message = error_of(post(http, sandbox, invoice(unique_comment(), **header)))

    assert (status, code) == (400, "4")
    assert property_name in message


def test_empty_contract_is_allowed(http: requests.Session, sandbox: OnecSandbox) -> None:
    body = invoice(unique_comment(), ДоговорКонтрагента_Key="00000000-0000-0000-0000-000000000000")

    assert post(http, sandbox, body).status_code == 201


@pytest.mark.parametrize(
    ("row_change", "expected_code", "fragment"),
    [
        ({"СтавкаНДС": "НДС21"}, "4", "СтавкаНДС"),
        ({"Номенклатура_Type": "StandardODATA.Catalog_ОсновныеСредства"}, "4", "Номенклатура_Type"),
        ({"Номенклатура": str(uuid.uuid4())}, "4", "Номенклатура"),
        ({"Номенклатура": "", "Содержание": " "}, "5", "Содержание"),
        ({"Цена": "122000.00"}, "4", "Цена"),
        ({"Сумма": None}, "4", "Сумма"),
        ({"Номенклатура_Key": NOMENCLATURE_LAPTOP}, "10", "Номенклатура_Key"),
    ],
)
def test_invalid_rows_are_rejected(
    http: requests.Session, sandbox: OnecSandbox, row_change: dict[str, Any], expected_code: str, fragment: str
) -> None:
    body = invoice(unique_comment())
    body["Товары"][0].update(row_change)

    status, code, message = error_of(post(http, sandbox, body))

    assert (status, code) == (400, expected_code)
    assert fragment in message


@pytest.mark.parametrize(
    ("body", "expected_code"),
    [
        ("{not json", "1"),
        ('{"Date": "2026-01-01T00:00:00", "Сумма": NaN}', "1"),
        ("[]", "2"),
        (json.dumps(invoice(НомерВходящегоДокумента="1"), ensure_ascii=False), "10"),
        (json.dumps(invoice(Товары={"LineNumber": "1"}), ensure_ascii=False), "4"),
        (json.dumps(invoice(Date="10.02.2026"), ensure_ascii=False), "5"),
    ],
)
def test_bad_bodies_are_rejected(http: requests.Session, sandbox: OnecSandbox, body: str, expected_code: str) -> None:
    assert error_of(post(http, sandbox, body))[:2] == (400, expected_code)


def test_post_to_a_catalog_is_not_allowed(http: requests.Session, sandbox: OnecSandbox) -> None:
    response = http.post(sandbox.url + "Catalog_Валюты", params=JSON, json={"Description": "X"}, timeout=10)

    assert error_of(response)[:2] == (405, "19")


# ---- test controls -------------------------------------------------------------------------------------


def test_fail_next_injects_faults_then_recovers(http: requests.Session, sandbox: OnecSandbox) -> None:
    sandbox.reset_log()
    sandbox.fail_next(2, status=503, code="-1", message="Сервис временно недоступен")

    first, second = get(http, sandbox, "Catalog_Валюты"), get(http, sandbox, "Catalog_Валюты")
    third = get(http, sandbox, "Catalog_Валюты")

    assert error_of(first) == (503, "-1", "Сервис временно недоступен")
    assert error_of(second) == (503, "-1", "Сервис временно недоступен")
    assert third.status_code == 200
    assert [entry.status for entry in sandbox.request_log] == [503, 503, 200]


def test_fail_next_default_is_the_internal_error_and_stores_nothing(
    http: requests.Session, sandbox: OnecSandbox
) -> None:
    comment = unique_comment()
    sandbox.fail_next(1)

    status, code, message = error_of(post(http, sandbox, invoice(comment)))

    assert (status, code) == (500, "-1")
    assert "внутренняя ошибка" in message
    assert not [doc for doc in sandbox.documents() if doc["Комментарий"] == comment]


def test_fail_next_after_write_stores_but_fails_the_answer(http: requests.Session, sandbox: OnecSandbox) -> None:
    comment = unique_comment()
    sandbox.fail_next(1, status=502, code="-1", message="Bad gateway", after_write=True)

    assert error_of(post(http, sandbox, invoice(comment)))[0] == 502
    assert len([doc for doc in sandbox.documents() if doc["Комментарий"] == comment]) == 1


def test_request_log_records_decoded_requests(http: requests.Session, sandbox: OnecSandbox) -> None:
    sandbox.reset_log()
    flt = "ИНН eq '7707083893'"

    get(http, sandbox, "Catalog_Контрагенты", **{"$filter": flt})
    get(http, sandbox, f"Catalog_Организации(guid'{ORGANIZATION_KEY}')")
    requests.get(sandbox.url + "Catalog_Валюты", params=JSON, timeout=10)

    first, second, third = sandbox.request_log
    assert (first.method, first.entity_set, first.query, first.status) == (
        "GET",
        "Catalog_Контрагенты",
        {"$format": "json", "$filter": flt},
        200,
    )
    assert (second.entity_set, second.key, second.status) == ("Catalog_Организации", ORGANIZATION_KEY, 200)
    assert (third.entity_set, third.status) == ("Catalog_Валюты", 401)


def test_documents_returns_copies(http: requests.Session, sandbox: OnecSandbox) -> None:
    ref = post(http, sandbox, invoice(unique_comment())).json()["Ref_Key"]
    copy = next(doc for doc in sandbox.documents() if doc["Ref_Key"] == ref)
    copy["Комментарий"] = "changed by the test"
    copy["Товары"].clear()

    again = next(doc for doc in sandbox.documents() if doc["Ref_Key"] == ref)
    assert again["Комментарий"] != "changed by the test"
    assert len(again["Товары"]) == 1
    assert sandbox.documents("Catalog_Валюты")[0]["Code"] == "643"


# ---- release flavours ----------------------------------------------------------------------------------

EDM = "{http://schemas.microsoft.com/ado/2009/11/edm}"
EDMX = "{http://schemas.microsoft.com/ado/2007/06/edmx}"
M = "{http://schemas.microsoft.com/ado/2007/08/dataservices/metadata}"
ROW_TYPE = "Document_СчетНаОплатуПокупателю_Товары_RowType"
SALE_ROW_TYPE = "Document_РеализацияТоваровУслуг_Товары_RowType"
NEW_RATES = ("НДС22", "НДС22_122", "НДС5", "НДС5_105", "НДС7", "НДС7_107")


@pytest.fixture
def old_release() -> Iterator[OnecSandbox]:
    with OnecSandbox(flavour=OnecFlavour.BP_2018) as running:
        yield running


@pytest.fixture
def fresh() -> Iterator[OnecSandbox]:
    """A sandbox of its own, for numbers, codes and counts that must start from the seed."""
    with OnecSandbox() as running:
        yield running


def old_row(**change: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"LineNumber": "1", "Номенклатура_Key": NOMENCLATURE_LAPTOP, "Количество": 2,
                           "Цена": 120000, "Сумма": 240000, "СтавкаНДС": "НДС20", "СуммаНДС": 40000}  # fmt: skip
    row.update(change)
    return row


def test_flavour_defaults_to_bp_3_0_198(sandbox: OnecSandbox) -> None:
    assert sandbox.flavour is OnecFlavour.BP_3_0_198


def test_old_release_takes_lines_with_nomenclature_key(http: requests.Session, old_release: OnecSandbox) -> None:
    response = post(http, old_release, invoice(unique_comment(), Товары=[old_row()]))

    assert response.status_code == 201, response.text
    (line,) = response.json()["Товары"]
    assert line["Номенклатура_Key"] == NOMENCLATURE_LAPTOP
    assert "Номенклатура" not in line
    assert "Номенклатура_Type" not in line
    assert response.json()["СуммаДокумента"] == 240000


@pytest.mark.parametrize(
    ("flavour", "foreign_shape", "named"),
    [
        (OnecFlavour.BP_2018, {"Номенклатура": NOMENCLATURE_LAPTOP,
                               "Номенклатура_Type": "StandardODATA.Catalog_Номенклатура"}, "Номенклатура"),
        (OnecFlavour.BP_3_0_198, {"Номенклатура_Key": NOMENCLATURE_LAPTOP}, "Номенклатура_Key"),
    ],
)  # fmt: skip
def test_the_other_release_line_shape_is_400_code_10(
    http: requests.Session, flavour: OnecFlavour, foreign_shape: dict[str, str], named: str
) -> None:
    row = {"LineNumber": "1", **foreign_shape, "Количество": 1, "Цена": 100, "Сумма": 100, "СтавкаНДС": "НДС20",
           "СуммаНДС": 16.67}  # fmt: skip
    with OnecSandbox(flavour=flavour) as release:
        status, code, message = error_of(post(http, release, invoice(unique_comment(), Товары=[row])))

    assert (status, code) == (400, "10")
    assert f"Товары (LineNumber=1).{named}" in message


@pytest.mark.parametrize("rate", NEW_RATES)
def test_old_release_refuses_the_late_2025_vat_rates(
    http: requests.Session, old_release: OnecSandbox, rate: str
) -> None:
    status, code, message = error_of(
        post(http, old_release, invoice(unique_comment(), Товары=[old_row(СтавкаНДС=rate)]))
    )

    assert (status, code) == (400, "4")
    assert f"'{rate}'" in message


@pytest.mark.parametrize("rate", ["НДС20", "НДС10", "НДС0", "БезНДС", "НДС18"])
def test_old_release_takes_its_own_vat_rates(http: requests.Session, old_release: OnecSandbox, rate: str) -> None:
    assert post(http, old_release, invoice(unique_comment(), Товары=[old_row(СтавкаНДС=rate)])).status_code == 201


def test_current_release_takes_the_usn_rates(http: requests.Session, sandbox: OnecSandbox) -> None:
    body = invoice(unique_comment())
    body["Товары"][0].update(СтавкаНДС="НДС5", СуммаНДС=11619.05)

    assert post(http, sandbox, body).status_code == 201


# ---- $metadata -----------------------------------------------------------------------------------------


def metadata_of(http: requests.Session, running: OnecSandbox) -> Element:
    response = http.get(running.url + "$metadata", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/xml;charset=utf-8"
    return ElementTree.fromstring(response.content)


def entity_type(root: Element, name: str) -> Element | None:
    return next((e for e in root.iter(f"{EDM}EntityType") if e.get("Name") == name), None)


def property_types(root: Element, kind: str, name: str) -> dict[str, str]:
    element = next(e for e in root.iter(f"{EDM}{kind}") if e.get("Name") == name)
    return {p.get("Name", ""): p.get("Type", "") for p in element.iter(f"{EDM}Property")}


def enum_members(root: Element, name: str) -> list[str]:
    enum = next(e for e in root.iter(f"{EDM}EnumType") if e.get("Name") == name)
    return [member.get("Name", "") for member in enum.iter(f"{EDM}Member")]


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


# ---- sales and tax invoices ----------------------------------------------------------------------------


def post_to(http: requests.Session, running: OnecSandbox, entity_set: str, body: dict[str, Any]) -> requests.Response:
    return http.post(running.url + entity_set, params=JSON, json=body, timeout=10)


def sale_body(comment: str = "Bitrix24 deal", **header: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Date": "2026-03-02T10:00:00",
        "ВидОперации": "ПродажаКомиссия",
        "Организация_Key": ORGANIZATION_KEY,
        "Контрагент_Key": ROMASHKA,
        "ДоговорКонтрагента_Key": ROMASHKA_CONTRACT,
        "ВалютаДокумента_Key": RUB_KEY,
        "СуммаВключаетНДС": True,
        "Комментарий": comment,
        "Товары": [
            {"LineNumber": "1", "Номенклатура_Key": NOMENCLATURE_LAPTOP, "Количество": 2, "Цена": 122000,
             "Сумма": 244000, "СтавкаНДС": "НДС22", "СуммаНДС": 44000},
        ],
        "Услуги": [
            {"LineNumber": "1", "Содержание": "Настройка", "Количество": 1, "Цена": 12200, "Сумма": 12200,
             "СтавкаНДС": "НДС22", "СуммаНДС": 2200},
        ],
    }  # fmt: skip
    body.update(header)
    return body


def tax_invoice_body(sale_ref: str, **header: Any) -> dict[str, Any]:
    basis = {"ДокументОснование": sale_ref, "ДокументОснование_Type": SALE_TYPE}
    body: dict[str, Any] = {
        "Date": "2026-03-02T10:00:00",
        "ВидСчетаФактуры": "НаРеализацию",
        "Организация_Key": ORGANIZATION_KEY,
        "Контрагент_Key": ROMASHKA,
        "ДоговорКонтрагента_Key": ROMASHKA_CONTRACT,
        **basis,
        "ДокументыОснования": [{"LineNumber": "1", **basis}],
        "Комментарий": "Bitrix24 deal",
    }
    body.update(header)
    return body


def test_sale_and_its_tax_invoice(http: requests.Session, fresh: OnecSandbox) -> None:
    post(http, fresh, invoice(unique_comment()))  # numbers run per document kind
    created = post_to(http, fresh, SALE_SET, sale_body("sale [b24:x:deal:7]"))

    assert created.status_code == 201, created.text
    sale = created.json()
    assert unquote(created.headers["Location"]) == f"{fresh.url}{SALE_SET}(guid'{sale['Ref_Key']}')"
    assert sale["odata.metadata"] == f"{fresh.url}$metadata#{SALE_SET}/@Element"
    assert sale["Number"] == "БС00-000001"
    assert (sale["Posted"], sale["ВидОперации"]) == (False, "ПродажаКомиссия")
    assert sale["СуммаДокумента"] == 256200  # VAT included: Σ Сумма over Товары and Услуги
    assert sale["Товары"][0]["Номенклатура_Key"] == NOMENCLATURE_LAPTOP
    assert sale["Услуги"][0]["Номенклатура_Key"] == "00000000-0000-0000-0000-000000000000"
    assert [line["Ref_Key"] for line in sale["Товары"] + sale["Услуги"]] == [sale["Ref_Key"]] * 2

    answer = post_to(http, fresh, TAX_INVOICE_SET, tax_invoice_body(sale["Ref_Key"]))

    assert answer.status_code == 201, answer.text
    tax_invoice = answer.json()
    assert tax_invoice["Number"] == "БС00-0000001"  # СчетФактураВыданный numbers are 12 long
    assert (tax_invoice["ВидСчетаФактуры"], tax_invoice["Posted"]) == ("НаРеализацию", False)
    assert (tax_invoice["ДокументОснование"], tax_invoice["ДокументОснование_Type"]) == (sale["Ref_Key"], SALE_TYPE)
    assert tax_invoice["ДокументыОснования"][0]["ДокументОснование"] == sale["Ref_Key"]
    assert tax_invoice["СуммаДокумента"] == 256200  # taken from the sale when not sent
    assert tax_invoice["СуммаНДСДокумента"] == 46200
    assert tax_invoice["ВалютаДокумента_Key"] == RUB_KEY
    cast = f"ДокументОснование eq cast(guid'{sale['Ref_Key']}', 'Document_РеализацияТоваровУслуг')"
    assert [row["Ref_Key"] for row in rows(http, fresh, TAX_INVOICE_SET, **{"$filter": cast})] == [
        tax_invoice["Ref_Key"]
    ]
    other_type = f"ДокументОснование eq cast(guid'{sale['Ref_Key']}', 'Document_СчетНаОплатуПокупателю')"
    assert rows(http, fresh, TAX_INVOICE_SET, **{"$filter": other_type}) == []
    assert [doc["Number"] for doc in fresh.documents(SALE_SET)] == ["БС00-000001"]
    assert len(fresh.documents(TAX_INVOICE_SET)) == 1


def test_sale_can_point_at_its_buyer_invoice(http: requests.Session, sandbox: OnecSandbox) -> None:
    buyer_invoice = post(http, sandbox, invoice(unique_comment())).json()["Ref_Key"]
    body = sale_body(unique_comment(), СчетНаОплатуПокупателю_Key=buyer_invoice)

    sale = post_to(http, sandbox, SALE_SET, body).json()
    flt = f"СчетНаОплатуПокупателю_Key eq cast(guid'{buyer_invoice}', 'Document_СчетНаОплатуПокупателю')"

    assert [row["Ref_Key"] for row in rows(http, sandbox, SALE_SET, **{"$filter": flt})] == [sale["Ref_Key"]]


def test_sale_lines_are_single_typed_in_every_release(http: requests.Session, old_release: OnecSandbox) -> None:
    composite = sale_body(unique_comment())
    del composite["Товары"][0]["Номенклатура_Key"]
    composite["Товары"][0].update(Номенклатура=NOMENCLATURE_LAPTOP, Номенклатура_Type=NOMENCLATURE_TYPE)
    plain = sale_body(unique_comment())
    for line in plain["Товары"] + plain["Услуги"]:
        line.update(СтавкаНДС="НДС20", СуммаНДС=0)

    assert error_of(post_to(http, old_release, SALE_SET, composite))[:2] == (400, "10")
    assert post_to(http, old_release, SALE_SET, plain).status_code == 201
    assert error_of(post_to(http, old_release, SALE_SET, sale_body(unique_comment())))[:2] == (400, "4")  # НДС22


@pytest.mark.parametrize(
    ("change", "code", "fragment"),
    [
        ({"ВидОперации": "Прочее"}, "4", "ВидОперации"),
        ({"Контрагент_Key": str(uuid.uuid4())}, "4", "Контрагент_Key"),
        ({"ДоговорКонтрагента_Key": VECTOR_CONTRACT}, "4", "ДоговорКонтрагента_Key"),
        ({"ВалютаДокумента_Key": "00000000-0000-0000-0000-000000000000"}, "5", "ВалютаДокумента_Key"),
        ({"СчетНаОплатуПокупателю_Key": str(uuid.uuid4())}, "4", "СчетНаОплатуПокупателю_Key"),
        ({"Товары": [{"LineNumber": "1", "Количество": 1, "Цена": 1, "Сумма": 1, "СтавкаНДС": "НДС22",
                      "СуммаНДС": 0.18}]}, "5", "Товары (LineNumber=1).Номенклатура_Key"),
        ({"Услуги": [{"LineNumber": "1", "Количество": 1, "Цена": 1, "Сумма": 1, "СтавкаНДС": "НДС22",
                      "СуммаНДС": 0.18}]}, "5", "Содержание"),
        ({"Услуги": [{"LineNumber": "1", "Содержание": "x", "Количество": 1, "Цена": 1, "Сумма": 1,
                      "СтавкаНДС": "НДС22"}]}, "5", "Услуги (LineNumber=1).СуммаНДС"),
        ({"Товары": [{"LineNumber": "1", "Номенклатура_Key": str(uuid.uuid4()), "Количество": 1, "Цена": 1,
                      "Сумма": 1, "СтавкаНДС": "НДС22", "СуммаНДС": 0}]}, "4", "Номенклатура_Key"),
        ({"Posted": True}, "16", "Posted"),
        ({"Date": None}, "5", "Date"),
    ],
)  # fmt: skip
def test_invalid_sales_are_rejected(
    http: requests.Session, sandbox: OnecSandbox, change: dict[str, Any], code: str, fragment: str
) -> None:
    comment = unique_comment()
    status, got, message = error_of(post_to(http, sandbox, SALE_SET, sale_body(comment, **change)))

    assert (status, got) == (400, code)
    assert fragment in message
    assert not [doc for doc in sandbox.documents(SALE_SET) if doc["Комментарий"] == comment]


def test_sale_row_without_line_number_is_500(http: requests.Session, sandbox: OnecSandbox) -> None:
    body = sale_body(unique_comment())
    del body["Услуги"][0]["LineNumber"]

    assert error_of(post_to(http, sandbox, SALE_SET, body))[:2] == (500, "-1")


@pytest.mark.parametrize(
    ("change", "code", "fragment"),
    [
        ({"ДокументОснование": "", "ДокументОснование_Type": "StandardODATA.Undefined"}, "5", "ДокументОснование"),
        ({"ДокументОснование": str(uuid.uuid4())}, "4", "ДокументОснование"),
        ({"ДокументОснование_Type": "StandardODATA.Document_СчетНаОплатуПокупателю"}, "4", "ДокументОснование_Type"),
        ({"ДокументыОснования": [{"LineNumber": "1", "ДокументОснование": str(uuid.uuid4()),
                                  "ДокументОснование_Type": SALE_TYPE}]}, "4", "ДокументыОснования (LineNumber=1)"),
        ({"Контрагент_Key": VECTOR, "ДоговорКонтрагента_Key": VECTOR_CONTRACT}, "4", "Контрагент_Key"),
        ({"ВидСчетаФактуры": "НаПредоплату"}, "4", "ВидСчетаФактуры"),
        ({"СуммаДокумента": "256200"}, "4", "СуммаДокумента"),
    ],
)  # fmt: skip
def test_invalid_tax_invoices_are_rejected(
    http: requests.Session, sandbox: OnecSandbox, change: dict[str, Any], code: str, fragment: str
) -> None:
    sale = post_to(http, sandbox, SALE_SET, sale_body(unique_comment())).json()["Ref_Key"]

    status, got, message = error_of(post_to(http, sandbox, TAX_INVOICE_SET, tax_invoice_body(sale, **change)))

    assert (status, got) == (400, code)
    assert fragment in message


def test_tax_invoice_keeps_totals_it_is_given(http: requests.Session, sandbox: OnecSandbox) -> None:
    sale = post_to(http, sandbox, SALE_SET, sale_body(unique_comment())).json()["Ref_Key"]
    body = tax_invoice_body(sale, Сумма=210000, СуммаНДС=46200, СуммаДокумента=256200.00)

    created = post_to(http, sandbox, TAX_INVOICE_SET, body).json()

    assert (created["Сумма"], created["СуммаНДС"], created["СуммаДокумента"]) == (210000, 46200, 256200)


# ---- posting -------------------------------------------------------------------------------------------


def call(
    http: requests.Session, running: OnecSandbox, entity_set: str, ref: str, action: str, **params: str
) -> requests.Response:
    return http.post(f"{running.url}{entity_set}(guid'{ref}')/{action}", params=params, timeout=10)


def postable_sale(comment: str) -> dict[str, Any]:
    """A sale with what BP's posting checks need: the warehouse and the accounting fields."""
    body = sale_body(comment, Склад_Key=WAREHOUSE_KEY, **account_keys(SALE_HEADER_ACCOUNTS))
    body["Товары"] = [{**line, **account_keys(SALE_LINE_ACCOUNTS)} for line in body["Товары"]]
    body["Услуги"] = [{**line, **account_keys(SERVICE_LINE_ACCOUNTS)} for line in body["Услуги"]]
    return body


def account_keys(names: dict[str, str]) -> dict[str, str]:
    return {name: ACCOUNT_CODES[code][0] for name, code in names.items()}


def create(http: requests.Session, running: OnecSandbox, entity_set: str) -> dict[str, Any]:
    """A document BP would post (the payee named; a sale's warehouse and accounts; a tax invoice on a posted sale)."""
    if entity_set == INVOICE_SET:
        response = post(http, running, invoice(unique_comment(), ОрганизацияПолучатель_Key=ORGANIZATION_KEY))
    elif entity_set == SALE_SET:
        response = post_to(http, running, SALE_SET, postable_sale(unique_comment()))
    else:
        sale = create(http, running, SALE_SET)["Ref_Key"]
        running.post_document(SALE_SET, sale)
        response = post_to(http, running, TAX_INVOICE_SET, tax_invoice_body(sale))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.mark.parametrize("entity_set", [INVOICE_SET, SALE_SET, TAX_INVOICE_SET])
def test_post_and_unpost(http: requests.Session, sandbox: OnecSandbox, entity_set: str) -> None:
    document = create(http, sandbox, entity_set)
    ref = document["Ref_Key"]
    sandbox.reset_log()

    posted = call(http, sandbox, entity_set, ref, "Post", PostingModeOperational="false")
    after_post = get(http, sandbox, f"{entity_set}(guid'{ref}')").json()
    unposted = call(http, sandbox, entity_set, ref, "Unpost")
    after_unpost = get(http, sandbox, f"{entity_set}(guid'{ref}')").json()

    assert posted.status_code == 200
    assert after_post["Posted"] is True
    assert after_post["DataVersion"] != document["DataVersion"]
    assert after_post["Number"] == document["Number"]
    assert unposted.status_code == 200
    assert after_unpost["Posted"] is False
    assert after_unpost["DataVersion"] != after_post["DataVersion"]
    log = sandbox.request_log[0]
    assert (log.method, log.entity_set, log.key, log.action, log.status) == ("POST", entity_set, ref, "Post", 200)
    assert log.query == {"PostingModeOperational": "false"}


def test_post_without_the_parameter_and_with_parentheses(http: requests.Session, sandbox: OnecSandbox) -> None:
    ref = create(http, sandbox, INVOICE_SET)["Ref_Key"]

    assert call(http, sandbox, INVOICE_SET, ref, "Post()").status_code == 200
    assert next(doc for doc in sandbox.documents() if doc["Ref_Key"] == ref)["Posted"] is True


def test_operational_posting_is_refused(http: requests.Session, sandbox: OnecSandbox) -> None:
    ref = create(http, sandbox, SALE_SET)["Ref_Key"]

    status, code, message = error_of(call(http, sandbox, SALE_SET, ref, "Post", PostingModeOperational="true"))

    assert (status, code) == (500, "-1")
    assert "RealTimePosting" in message
    assert "Оперативное проведение" in message
    assert next(doc for doc in sandbox.documents(SALE_SET) if doc["Ref_Key"] == ref)["Posted"] is False


def test_posting_an_unknown_document_is_404_code_9(http: requests.Session, sandbox: OnecSandbox) -> None:
    response = call(http, sandbox, INVOICE_SET, str(uuid.uuid4()), "Post", PostingModeOperational="false")

    assert error_of(response)[:2] == (404, "9")


@pytest.mark.parametrize(
    ("resource", "method", "expected"),
    [
        (f"Catalog_Контрагенты(guid'{ROMASHKA}')/Post", "POST", (400, "11")),
        (f"{INVOICE_SET}(guid'{ROMASHKA}')/Провести", "POST", (400, "11")),
        (f"{INVOICE_SET}(guid'{ROMASHKA}')/Post", "GET", (405, "19")),
        (f"{INVOICE_SET}/Post", "POST", (400, "7")),
        (f"Catalog_Кассы(guid'{ROMASHKA}')/Post", "POST", (404, "8")),
    ],
)
def test_wrong_posting_calls(
    http: requests.Session, sandbox: OnecSandbox, resource: str, method: str, expected: tuple[int, str]
) -> None:
    response = http.request(method, sandbox.url + resource, timeout=10)

    assert error_of(response)[:2] == expected


def test_a_document_marked_for_deletion_cannot_be_posted(http: requests.Session, sandbox: OnecSandbox) -> None:
    document = create(http, sandbox, INVOICE_SET)
    patch(http, sandbox, INVOICE_SET, document["Ref_Key"], {"DeletionMark": True})

    status, code, _ = error_of(call(http, sandbox, INVOICE_SET, document["Ref_Key"], "Post"))

    assert (status, code) == (500, "-1")


def test_post_document_helper_marks_it_posted(http: requests.Session, sandbox: OnecSandbox) -> None:
    document = create(http, sandbox, SALE_SET)

    sandbox.post_document(SALE_SET, document["Ref_Key"])

    stored = next(doc for doc in sandbox.documents(SALE_SET) if doc["Ref_Key"] == document["Ref_Key"])
    assert stored["Posted"] is True
    assert stored["DataVersion"] != document["DataVersion"]
    with pytest.raises(KeyError):
        sandbox.post_document(SALE_SET, str(uuid.uuid4()))


# ---- PATCH ---------------------------------------------------------------------------------------------


def patch(
    http: requests.Session,
    running: OnecSandbox,
    entity_set: str,
    ref: str,
    body: dict[str, Any],
    if_match: str | None = None,
) -> requests.Response:
    headers = {"If-Match": if_match} if if_match is not None else {}
    return http.patch(f"{running.url}{entity_set}(guid'{ref}')", params=JSON, json=body, headers=headers, timeout=10)


def test_patch_changes_only_what_is_sent(http: requests.Session, sandbox: OnecSandbox) -> None:
    document = create(http, sandbox, INVOICE_SET)
    comment = unique_comment("changed")

    response = patch(http, sandbox, INVOICE_SET, document["Ref_Key"], {"Комментарий": comment},
                     if_match=document["DataVersion"])  # fmt: skip

    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["odata.metadata"] == f"{sandbox.url}$metadata#{INVOICE_SET}/@Element"
    assert changed["Комментарий"] == comment
    assert changed["DataVersion"] != document["DataVersion"]
    unchanged = {k: v for k, v in changed.items() if k not in ("Комментарий", "DataVersion", "odata.metadata")}
    assert unchanged == {k: v for k, v in document.items() if k not in ("Комментарий", "DataVersion", "odata.metadata")}


def test_patch_with_a_stale_data_version_is_412(http: requests.Session, sandbox: OnecSandbox) -> None:
    document = create(http, sandbox, INVOICE_SET)
    ref = document["Ref_Key"]
    assert patch(http, sandbox, INVOICE_SET, ref, {"Комментарий": unique_comment("accountant")}).status_code == 200

    response = patch(http, sandbox, INVOICE_SET, ref, {"Комментарий": "bridge"}, if_match=document["DataVersion"])

    status, code, message = error_of(response)
    assert status == 412
    assert code
    assert document["DataVersion"] in message
    assert next(doc for doc in sandbox.documents() if doc["Ref_Key"] == ref)["Комментарий"] != "bridge"


def test_patch_accepts_quoted_and_wildcard_if_match(http: requests.Session, sandbox: OnecSandbox) -> None:
    document = create(http, sandbox, INVOICE_SET)
    ref = document["Ref_Key"]

    quoted = patch(http, sandbox, INVOICE_SET, ref, {"Комментарий": unique_comment()},
                   if_match=f'W/"{document["DataVersion"]}"')  # fmt: skip
    wildcard = patch(http, sandbox, INVOICE_SET, ref, {"Комментарий": unique_comment()}, if_match="*")

    assert (quoted.status_code, wildcard.status_code) == (200, 200)


def test_patch_replaces_a_tabular_section_and_recomputes_the_total(
    http: requests.Session, sandbox: OnecSandbox
) -> None:
    document = create(http, sandbox, INVOICE_SET)
    lines = [
        {"LineNumber": "1", "Номенклатура": NOMENCLATURE_BABY_FOOD, "Номенклатура_Type": NOMENCLATURE_TYPE,
         "Количество": 3, "Цена": 90000, "Сумма": 270000, "СтавкаНДС": "НДС10", "СуммаНДС": 24545.45},
        {"LineNumber": "2", "Содержание": "Доставка", "Количество": 1, "Цена": 1000.5, "Сумма": 1000.5,
         "СтавкаНДС": "БезНДС", "СуммаНДС": 0},
    ]  # fmt: skip

    response = patch(http, sandbox, INVOICE_SET, document["Ref_Key"], {"Товары": lines, "СуммаВключаетНДС": False},
                     if_match=document["DataVersion"])  # fmt: skip

    assert response.status_code == 200, response.text
    changed = json.loads(response.text, parse_float=Decimal)
    assert [line["LineNumber"] for line in changed["Товары"]] == ["1", "2"]
    assert changed["Товары"][0]["Номенклатура"] == NOMENCLATURE_BABY_FOOD
    assert changed["Товары"][1]["Номенклатура_Type"] == "StandardODATA.Undefined"  # defaults, not the old line
    assert changed["СуммаДокумента"] == Decimal("295545.95")  # 271000.50 + VAT 24545.45 on top
    assert changed["Number"] == document["Number"]


def test_patch_of_a_sale_replaces_only_the_section_sent(http: requests.Session, sandbox: OnecSandbox) -> None:
    sale = create(http, sandbox, SALE_SET)
    services = [{"LineNumber": "1", "Содержание": "Обучение", "Количество": 2, "Цена": 6100, "Сумма": 12200,
                 "СтавкаНДС": "НДС22", "СуммаНДС": 2200}]  # fmt: skip

    changed = patch(http, sandbox, SALE_SET, sale["Ref_Key"], {"Услуги": services}).json()

    assert changed["Товары"] == sale["Товары"]
    assert changed["Услуги"][0]["Содержание"] == "Обучение"
    assert changed["СуммаДокумента"] == 256200


@pytest.mark.parametrize(
    ("body", "status", "code", "fragment"),
    [
        ({"Posted": True}, 400, "16", "Posted"),
        ({"Ref_Key": str(uuid.uuid4())}, 400, "16", "Ref_Key"),
        ({"ОГРН": "1"}, 400, "10", "ОГРН"),
        ({"Контрагент_Key": str(uuid.uuid4())}, 400, "4", "Контрагент_Key"),
        ({"Контрагент_Key": VECTOR}, 400, "4", "ДоговорКонтрагента_Key"),  # the contract stays Romashka's
        ({"Date": "2026-02-30T00:00:00"}, 400, "5", "Date"),
        ({"Товары": [{"LineNumber": "1", "Содержание": "x", "Количество": 1, "Цена": 1, "Сумма": 1,
                      "СтавкаНДС": "НДС21", "СуммаНДС": 0}]}, 400, "4", "НДС21"),
    ],
)  # fmt: skip
def test_invalid_patches_change_nothing(
    http: requests.Session, sandbox: OnecSandbox, body: dict[str, Any], status: int, code: str, fragment: str
) -> None:
    document = create(http, sandbox, INVOICE_SET)

    got = error_of(patch(http, sandbox, INVOICE_SET, document["Ref_Key"], body))

    assert got[:2] == (status, code)
    assert fragment in got[2]
    stored = next(doc for doc in sandbox.documents() if doc["Ref_Key"] == document["Ref_Key"])
    assert stored["DataVersion"] == document["DataVersion"]


def test_patch_of_an_unknown_object_is_404_code_9(http: requests.Session, sandbox: OnecSandbox) -> None:
    assert error_of(patch(http, sandbox, INVOICE_SET, str(uuid.uuid4()), {"Комментарий": "x"}))[:2] == (404, "9")


def test_patch_needs_a_key(http: requests.Session, sandbox: OnecSandbox) -> None:
    ref = create(http, sandbox, INVOICE_SET)["Ref_Key"]
    without_key = http.patch(sandbox.url + INVOICE_SET, params=JSON, json={"Комментарий": "x"}, timeout=10)
    atom = http.patch(f"{sandbox.url}{INVOICE_SET}(guid'{ref}')", json={"Комментарий": "x"}, timeout=10)

    assert error_of(without_key)[:2] == (405, "19")
    assert atom.status_code == 200  # answered in Atom, 1C's default
    assert atom.headers["Content-Type"].startswith("application/atom+xml")


def test_deletion_mark_by_patch(http: requests.Session, sandbox: OnecSandbox) -> None:
    document = create(http, sandbox, SALE_SET)
    sandbox.post_document(SALE_SET, document["Ref_Key"])

    marked = patch(http, sandbox, SALE_SET, document["Ref_Key"], {"DeletionMark": True}).json()

    assert marked["DeletionMark"] is True
    assert marked["Posted"] is False  # marking a posted document for deletion unposts it, as 1C does
    flt = f"Ref_Key eq guid'{document['Ref_Key']}' and DeletionMark eq false"
    assert rows(http, sandbox, SALE_SET, **{"$filter": flt}) == []


def test_integers_are_stored_as_1c_answers_them(http: requests.Session, sandbox: OnecSandbox) -> None:
    created = post(http, sandbox, invoice(unique_comment(), КратностьВзаиморасчетов=1)).json()

    assert created["КратностьВзаиморасчетов"] == "1"
    assert created["КурсВзаиморасчетов"] == 1


# ---- counterparties and contracts ----------------------------------------------------------------------

NEW_BUYER = {
    "Description": "Ландыш ООО",
    "НаименованиеПолное": "Общество с ограниченной ответственностью «Ландыш»",
    "ЮридическоеФизическоеЛицо": "ЮридическоеЛицо",
    "ИНН": "7736050003",
    "КПП": "773601001",
    "Комментарий": "Создан мостом",
}


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


# ---- latency and the session cap -----------------------------------------------------------------------


def test_latency_delays_every_answer(http: requests.Session) -> None:
    with OnecSandbox(latency_seconds=0.3) as slow:
        started = time.monotonic()
        assert get(http, slow, "Catalog_Валюты").status_code == 200
        slow_answer = time.monotonic() - started
        slow.set_latency(0)
        started = time.monotonic()
        assert get(http, slow, "Catalog_Валюты").status_code == 200
        fast_answer = time.monotonic() - started

    assert slow_answer >= 0.3
    assert fast_answer < 0.25


def test_latency_is_served_side_by_side() -> None:
    with OnecSandbox(latency_seconds=0.4) as slow:
        started = time.monotonic()
        answers = concurrently(slow, 4)
        elapsed = time.monotonic() - started

    assert [answer.status_code for answer in answers] == [200] * 4
    assert elapsed < 1.2  # four requests of 0.4 s each did not wait for one another


def concurrently(running: OnecSandbox, count: int) -> list[requests.Response]:
    """Send `count` GETs at once, each on its own connection."""
    barrier = threading.Barrier(count)
    answers: list[requests.Response] = []
    lock = threading.Lock()

    def one() -> None:
        with requests.Session() as own:
            own.auth = (ONEC_USERNAME, ONEC_PASSWORD)
            barrier.wait()
            answer = get(own, running, "Catalog_Валюты")
            with lock:
                answers.append(answer)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_session_cap_refuses_the_extra_concurrent_requests(http: requests.Session) -> None:
    with OnecSandbox(latency_seconds=0.6, max_sessions=2) as capped:
        answers = concurrently(capped, 5)
        afterwards = get(http, capped, "Catalog_Валюты")  # the sessions were given back
        log = list(capped.request_log)

    assert sorted(answer.status_code for answer in answers) == [200, 200, 503, 503, 503]
    refused = [answer for answer in answers if answer.status_code == 503]
    assert {error_of(answer) for answer in refused} == {(503, "-1", "Превышено максимальное количество сеансов")}
    assert afterwards.status_code == 200
    assert sorted(entry.status for entry in log) == [200, 200, 200, 503, 503, 503]
    assert {entry.entity_set for entry in log} == {"Catalog_Валюты"}


def test_without_a_cap_many_concurrent_requests_are_served() -> None:
    with OnecSandbox(latency_seconds=0.2) as uncapped:
        answers = concurrently(uncapped, 12)

    assert [answer.status_code for answer in answers] == [200] * 12
