"""PATCH in the 1C sandbox (local.onec.writes): only what is sent changes, `If-Match` against DataVersion, tabular
sections replaced, deletion marks, integers stored as 1C answers them."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
import requests

from local.onec.model import INVOICE_SET, SALE_SET
from local.onec.sandbox import OnecSandbox
from local.seed import (
    NOMENCLATURE_BABY_FOOD,
)
from tests.local.onec.calls import (
    JSON,
    NOMENCLATURE_TYPE,
    VECTOR,
    create,
    error_of,
    invoice,
    patch,
    post,
    rows,
    unique_comment,
)


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
