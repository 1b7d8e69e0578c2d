"""Requests to the 1C sandbox and the bodies its tests send, shared by tests/local/onec."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any
from xml.etree.ElementTree import Element

import requests
from defusedxml import ElementTree

from local.onec.base import ACCOUNT_CODES, WAREHOUSE_KEY
from local.onec.model import INVOICE_SET, NAMESPACE, NOMENCLATURE, SALE_SET, TAX_INVOICE_SET
from local.onec.posting import SALE_HEADER_ACCOUNTS, SALE_LINE_ACCOUNTS, SERVICE_LINE_ACCOUNTS
from local.onec.sandbox import OnecSandbox
from local.seed import (
    NOMENCLATURE_LAPTOP,
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
NOMENCLATURE_TYPE = f"{NAMESPACE}.{NOMENCLATURE}"
SALE_TYPE = f"{NAMESPACE}.{SALE_SET}"


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


def descriptions(http: requests.Session, sandbox: OnecSandbox, flt: str) -> list[str]:
    return [row["Description"] for row in rows(http, sandbox, "Catalog_Контрагенты", **{"$filter": flt})]


EDM = "{http://schemas.microsoft.com/ado/2009/11/edm}"


EDMX = "{http://schemas.microsoft.com/ado/2007/06/edmx}"


M = "{http://schemas.microsoft.com/ado/2007/08/dataservices/metadata}"


ROW_TYPE = "Document_СчетНаОплатуПокупателю_Товары_RowType"


SALE_ROW_TYPE = "Document_РеализацияТоваровУслуг_Товары_RowType"


NEW_RATES = ("НДС22", "НДС22_122", "НДС5", "НДС5_105", "НДС7", "НДС7_107")


def old_row(**change: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"LineNumber": "1", "Номенклатура_Key": NOMENCLATURE_LAPTOP, "Количество": 2,
                           "Цена": 120000, "Сумма": 240000, "СтавкаНДС": "НДС20", "СуммаНДС": 40000}  # fmt: skip
    row.update(change)
    return row


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


NEW_BUYER = {
    "Description": "Ландыш ООО",
    "НаименованиеПолное": "Общество с ограниченной ответственностью «Ландыш»",
    "ЮридическоеФизическоеЛицо": "ЮридическоеЛицо",
    "ИНН": "7736050003",
    "КПП": "773601001",
    "Комментарий": "Создан мостом",
}


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
