"""The 1C OData sandbox over real HTTP: auth, shapes, $filter/$select/$top, invoice creation, faults."""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote, unquote

import pytest
import requests

from local.onec_sandbox import INVOICE_SET, OnecSandbox
from local.seed import (
    NOMENCLATURE_BABY_FOOD,
    NOMENCLATURE_LAPTOP,
    ONEC_BASE,
    ONEC_PASSWORD,
    ONEC_USERNAME,
    ORGANIZATION_KEY,
    RUB_KEY,
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


def test_only_json_is_served(http: requests.Session, sandbox: OnecSandbox) -> None:
    without = http.get(sandbox.url + "Catalog_Валюты", timeout=10)
    atom = http.get(sandbox.url + "Catalog_Валюты", params={"$format": "atom"}, timeout=10)

    assert error_of(without)[:2] == (400, "3")
    assert error_of(atom)[:2] == (400, "3")


@pytest.mark.parametrize("entity_set", ["Catalog_Склады", "Document_РеализацияТоваровУслуг"])
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

    assert body["odata.count"] == "5"
    assert body["value"] == [{"Code": "00-00000104"}, {"Code": "00-00000103"}]


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
    response = http.post(sandbox.url + "Catalog_Контрагенты", params=JSON, json={"Description": "X"}, timeout=10)

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
