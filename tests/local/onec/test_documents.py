"""Documents written to the 1C sandbox (local.onec.documents, local.onec.writes): buyer invoices, sales and tax
invoices created by POST, their numbers, totals and the rules of each kind."""

from __future__ import annotations

import json
import re
import threading
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import pytest
import requests

from local.onec.model import INVOICE_SET, SALE_SET, TAX_INVOICE_SET
from local.onec.sandbox import OnecSandbox
from local.seed import (
    NOMENCLATURE_LAPTOP,
    ONEC_PASSWORD,
    ONEC_USERNAME,
    RUB_KEY,
)
from tests.local.onec.calls import (
    JSON,
    NOMENCLATURE_TYPE,
    ROMASHKA,
    SALE_TYPE,
    VECTOR,
    VECTOR_CONTRACT,
    error_of,
    get,
    invoice,
    post,
    post_to,
    rows,
    sale_body,
    tax_invoice_body,
    unique_comment,
)


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
