"""The 1C sandbox behaves as BP 3.0 does where the two used to differ (issue 15, differences 1-3), and the bridge
copes: posting runs BP's fill checks (local.onec.posting), `$metadata` links types as a real base's does
(local.onec.metadata), and the request formats and query options of a real publication are honoured.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from defusedxml import ElementTree

from invoice_bridge.ledger.deals import Ledger
from local.onec.base import ACCOUNT_CODES, WAREHOUSE_KEY, AccountingSetUp, bank_account_key
from local.onec.faults import injected_fault
from local.onec.model import INVOICE_SET, SALE_SET, TAX_INVOICE_SET
from local.onec.posting import SALE_HEADER_ACCOUNTS, SALE_LINE_ACCOUNTS, SERVICE_LINE_ACCOUNTS
from local.onec.sandbox import OnecSandbox
from local.runners import doctor as local_doctor
from local.seed import (
    NOMENCLATURE_CONSULTING,
    NOMENCLATURE_LAPTOP,
    ONEC_PASSWORD,
    ONEC_USERNAME,
    ORGANIZATION_KEY,
    PORTAL_MEMBER_ID,
    RUB_KEY,
)
from local.stack import LocalStack
from tests.integration.test_bridge_end_to_end import drain, post, webhook
from tests.integration.test_onec_profiles import BUYER_INVOICES, SALES, TAX_INVOICES, documents_for

EDM = "{http://schemas.microsoft.com/ado/2009/11/edm}"
ROMASHKA = "b7569c0f-f670-11ea-8591-000c29b45b09"


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.auth = (ONEC_USERNAME, ONEC_PASSWORD)
        yield session


def create(http: requests.Session, onec: OnecSandbox, entity_set: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(f"{onec.url}{entity_set}", params={"$format": "json"}, json=body, timeout=10)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def post_document(http: requests.Session, onec: OnecSandbox, entity_set: str, ref: str) -> requests.Response:
    return http.post(
        f"{onec.url}{entity_set}(guid'{ref}')/Post", params={"PostingModeOperational": "false"}, timeout=10
    )


def failure(response: requests.Response) -> str:
    assert response.status_code == 500
    error = response.json()["odata.error"]
    assert error["code"] == "-1"
    text: str = error["message"]["value"]
    return text


def invoice_body(**header: Any) -> dict[str, Any]:
    return {
        "Date": "2026-02-10T12:00:00",
        "ВидОперации": "ТоварыИУслуги",
        "Организация_Key": ORGANIZATION_KEY,
        "Контрагент_Key": ROMASHKA,
        "ВалютаДокумента_Key": RUB_KEY,
        "Комментарий": f"test {uuid.uuid4()}",
        "Товары": [
            {"LineNumber": "1", "Номенклатура": NOMENCLATURE_LAPTOP,
             "Номенклатура_Type": "StandardODATA.Catalog_Номенклатура", "Количество": 1, "Цена": 100,
             "Сумма": 100, "СтавкаНДС": "НДС22", "СуммаНДС": 18.03},
        ],
        **header,
    }  # fmt: skip


def sale_body(*, accounts: bool, **header: Any) -> dict[str, Any]:
    def keys(names: dict[str, str]) -> dict[str, str]:
        return {name: ACCOUNT_CODES[code][0] for name, code in names.items()} if accounts else {}

    return {
        "Date": "2026-03-02T10:00:00",
        "ВидОперации": "ПродажаКомиссия",
        "Организация_Key": ORGANIZATION_KEY,
        "Контрагент_Key": ROMASHKA,
        "ВалютаДокумента_Key": RUB_KEY,
        "Комментарий": f"test {uuid.uuid4()}",
        **keys(SALE_HEADER_ACCOUNTS),
        "Товары": [
            {"LineNumber": "1", "Номенклатура_Key": NOMENCLATURE_LAPTOP, "Количество": 1, "Цена": 100, "Сумма": 100,
             "СтавкаНДС": "НДС22", "СуммаНДС": 18.03, **keys(SALE_LINE_ACCOUNTS)},
        ],
        "Услуги": [
            {"LineNumber": "1", "Содержание": "Настройка", "Количество": 1, "Цена": 10, "Сумма": 10,
             "СтавкаНДС": "НДС22", "СуммаНДС": 1.8, **keys(SERVICE_LINE_ACCOUNTS)},
        ],
        **header,
    }  # fmt: skip


# ---- 1: posting runs BP's fill checks ------------------------------------------------------------------------


def test_a_buyer_invoice_without_the_payee_is_not_posted(http: requests.Session) -> None:
    with OnecSandbox() as onec:
        bare = create(http, onec, INVOICE_SET, invoice_body())
        text = failure(post_document(http, onec, INVOICE_SET, bare["Ref_Key"]))
        assert 'Поле "Получатель платежа" не заполнено' in text
        assert 'Поле "Банковский счет" не заполнено' in text
        assert next(d for d in onec.documents(INVOICE_SET) if d["Ref_Key"] == bare["Ref_Key"])["Posted"] is False

        named = create(http, onec, INVOICE_SET, invoice_body(ОрганизацияПолучатель_Key=ORGANIZATION_KEY))
        # BP's ПередЗаписью fills the bank account of an organisation that has a single one
        assert named["СтруктурнаяЕдиница_Key"] == bank_account_key(ORGANIZATION_KEY)
        assert post_document(http, onec, INVOICE_SET, named["Ref_Key"]).status_code == 200


def test_an_organisation_without_a_bank_account_cannot_post_buyer_invoices(http: requests.Session) -> None:
    with OnecSandbox(accounting=AccountingSetUp(bank_accounts=False)) as onec:
        created = create(http, onec, INVOICE_SET, invoice_body(ОрганизацияПолучатель_Key=ORGANIZATION_KEY))
        assert 'Поле "Банковский счет" не заполнено' in failure(
            post_document(http, onec, INVOICE_SET, created["Ref_Key"])
        )


def test_a_goods_line_needs_a_quantity_a_service_line_does_not(http: requests.Session) -> None:
    service_line = {
        "LineNumber": "1", "Номенклатура": NOMENCLATURE_CONSULTING,
        "Номенклатура_Type": "StandardODATA.Catalog_Номенклатура", "Количество": 0, "Цена": 10, "Сумма": 10,
        "СтавкаНДС": "БезНДС", "СуммаНДС": 0,
    }  # fmt: skip
    with OnecSandbox() as onec:
        goods = invoice_body(ОрганизацияПолучатель_Key=ORGANIZATION_KEY)
        goods["Товары"][0]["Количество"] = 0
        created = create(http, onec, INVOICE_SET, goods)
        text = failure(post_document(http, onec, INVOICE_SET, created["Ref_Key"]))
        assert 'Не заполнена колонка "Количество" в строке 1 списка "Товары"' in text
        services = create(
            http, onec, INVOICE_SET, invoice_body(ОрганизацияПолучатель_Key=ORGANIZATION_KEY, Товары=[service_line])
        )
        assert post_document(http, onec, INVOICE_SET, services["Ref_Key"]).status_code == 200


@pytest.mark.parametrize("filled_on_write", [False, True], ids=["accounts-sent", "accounts-filled-on-write"])
def test_a_sale_needs_its_warehouse_and_accounts(http: requests.Session, filled_on_write: bool) -> None:
    with OnecSandbox(accounting=AccountingSetUp(accounts_filled_on_write=filled_on_write)) as onec:
        bare = create(http, onec, SALE_SET, sale_body(accounts=False))
        text = failure(post_document(http, onec, SALE_SET, bare["Ref_Key"]))
        assert 'Поле "Склад" не заполнено' in text
        if filled_on_write:
            assert "Счет" not in text
        else:
            assert 'Поле "Счет учета расчетов с контрагентом" не заполнено' in text
            assert 'Не заполнена колонка "Счет доходов" в строке 1 списка "Товары"' in text
            assert 'Не заполнена колонка "Счет НДС" в строке 1 списка "Услуги"' in text
        complete = create(http, onec, SALE_SET, sale_body(accounts=True, Склад_Key=WAREHOUSE_KEY))
        assert post_document(http, onec, SALE_SET, complete["Ref_Key"]).status_code == 200


def test_a_tax_invoice_needs_a_posted_sale(http: requests.Session) -> None:
    with OnecSandbox() as onec:
        sale = create(http, onec, SALE_SET, sale_body(accounts=True, Склад_Key=WAREHOUSE_KEY))
        basis = {"ДокументОснование": sale["Ref_Key"], "ДокументОснование_Type": f"StandardODATA.{SALE_SET}"}
        tax_invoice = create(
            http,
            onec,
            TAX_INVOICE_SET,
            {"Date": "2026-03-02T10:00:00", "ВидСчетаФактуры": "НаРеализацию", "Организация_Key": ORGANIZATION_KEY,
             "Контрагент_Key": ROMASHKA, **basis, "ДокументыОснования": [{"LineNumber": "1", **basis}]},
        )  # fmt: skip
        assert "Документ-основание не проведен" in failure(
            post_document(http, onec, TAX_INVOICE_SET, tax_invoice["Ref_Key"])
        )
        assert post_document(http, onec, SALE_SET, sale["Ref_Key"]).status_code == 200
        assert post_document(http, onec, TAX_INVOICE_SET, tax_invoice["Ref_Key"]).status_code == 200


# ---- the bridge posts what BP accepts, or names what the base lacks -------------------------------------------


def test_bridge_posts_a_sale_and_its_tax_invoice() -> None:
    overrides = {"OnecPostDocuments": "true", "DocumentKind": "sale_and_tax_invoice"}
    stack = LocalStack(parameter_overrides=overrides).start(poll=False)
    try:
        post(stack, webhook(1001))
        drain(stack)
        [sale] = documents_for(stack, SALES, 1001)
        [tax_invoice] = documents_for(stack, TAX_INVOICES, 1001)
        assert sale["Posted"] is True
        assert tax_invoice["Posted"] is True
        assert sale["Склад_Key"] == WAREHOUSE_KEY
        assert sale["СчетУчетаРасчетовСКонтрагентом_Key"] == ACCOUNT_CODES["62.01"][0]
        assert all(line["СчетДоходов_Key"] == ACCOUNT_CODES["90.01.1"][0] for line in sale["Товары"])
    finally:
        stack.stop()


def test_bridge_waits_and_doctor_names_the_missing_bank_account(capsys: pytest.CaptureFixture[str]) -> None:
    onec = OnecSandbox(accounting=AccountingSetUp(bank_accounts=False))
    stack = LocalStack(onec=onec, parameter_overrides={"OnecPostDocuments": "true"}).start(poll=False)
    try:
        post(stack, webhook(1001))
        for _ in range(3):
            stack.event_source.poll_once(wait_seconds=1)
        assert documents_for(stack, BUYER_INVOICES, 1001) == []  # nothing half-done: the deal waits
        assert stack.resources is not None
        record = Ledger(stack.dynamodb, stack.resources.table_name).get(f"{PORTAL_MEMBER_ID}#deal#1001")
        assert record is not None
        assert "Основной банковский счет" in (record.last_error or "")
    finally:
        stack.stop()
    assert local_doctor.main(["--post", "--lacking", "bank_accounts"]) == 1
    out = capsys.readouterr().out
    assert "FIX  posting (OnecPostDocuments=true): the organisation has no main bank account" in out
    assert "Основной банковский счет" in out


def test_doctor_names_what_posting_a_sale_needs(capsys: pytest.CaptureFixture[str]) -> None:
    code = local_doctor.main(
        [
            "--post",
            "--document-kind",
            "sale_and_tax_invoice",
            "--lacking",
            "warehouse",
            "--lacking",
            "chart_of_accounts",
        ]
    )
    assert code == 1
    out = capsys.readouterr().out
    assert "Справочники → Склады" in out
    assert "План счетов «Хозрасчетный»" in out
    assert local_doctor.main(["--post", "--document-kind", "sale_and_tax_invoice"]) == 0


# ---- 3: $metadata links types ------------------------------------------------------------------------------


def test_metadata_has_navigation_associations_section_types_and_plain_enum_members(http: requests.Session) -> None:
    with OnecSandbox() as onec:
        root = ElementTree.fromstring(http.get(f"{onec.url}$metadata", timeout=10).content)
    invoice = next(e for e in root.iter(f"{EDM}EntityType") if e.get("Name") == INVOICE_SET)
    navigation = {n.get("Name"): n.get("Relationship") for n in invoice.iter(f"{EDM}NavigationProperty")}
    assert navigation["Контрагент"] == f"StandardODATA.{INVOICE_SET}_Контрагент"
    association = next(a for a in root.iter(f"{EDM}Association") if a.get("Name") == f"{INVOICE_SET}_Контрагент")
    ends = {end.get("Role"): (end.get("Type"), end.get("Multiplicity")) for end in association.iter(f"{EDM}End")}
    assert ends == {
        "Begin": (f"StandardODATA.{INVOICE_SET}", "*"),
        "End": ("StandardODATA.Catalog_Контрагенты", "0..1"),
    }
    rows = next(e for e in root.iter(f"{EDM}EntityType") if e.get("Name") == f"{SALE_SET}_Товары")
    assert [ref.get("Name") for ref in rows.iter(f"{EDM}PropertyRef")] == ["Ref_Key", "LineNumber"]
    members = [m for enum in root.iter(f"{EDM}EnumType") for m in enum.iter(f"{EDM}Member")]
    assert members
    assert all(set(member.attrib) == {"Name"} for member in members)


def test_a_tabular_section_set_is_readable_and_refuses_new_rows(http: requests.Session) -> None:
    with OnecSandbox() as onec:
        sale = create(http, onec, SALE_SET, sale_body(accounts=True))
        rows = http.get(f"{onec.url}{SALE_SET}_Товары", params={"$format": "json"}, timeout=10).json()["value"]
        assert rows[0]["Ref_Key"] == sale["Ref_Key"]
        assert rows[0]["LineNumber"] == "1"
        refused = http.post(f"{onec.url}{SALE_SET}_Товары", params={"$format": "json"}, json={}, timeout=10)
    assert refused.json()["odata.error"]["code"] == "13"


# ---- 2: formats and query options of a real publication -----------------------------------------------------

ATOM = "{http://www.w3.org/2005/Atom}"
D = "{http://schemas.microsoft.com/ado/2007/08/dataservices}"
MD = "{http://schemas.microsoft.com/ado/2007/08/dataservices/metadata}"


def test_atom_is_the_default_and_accept_json_gives_json(http: requests.Session) -> None:
    with OnecSandbox() as onec:
        atom = http.get(f"{onec.url}Catalog_Валюты", timeout=10)
        by_accept = http.get(f"{onec.url}Catalog_Валюты", headers={"Accept": "application/json"}, timeout=10)
        bare = http.get(
            f"{onec.url}Catalog_Валюты", headers={"Accept": "application/json;odata=nometadata"}, timeout=10
        )
        entry = http.get(f"{onec.url}{INVOICE_SET}", timeout=10)
    assert atom.headers["Content-Type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(atom.content)
    codes = [p.findtext(f"{D}Code") for p in feed.iter(f"{MD}properties")]
    assert "643" in codes
    assert by_accept.json()["value"][0]["Code"] == codes[0]
    assert "odata.metadata" in by_accept.json()
    assert "odata.metadata" not in bare.json()
    assert ElementTree.fromstring(entry.content).tag == f"{ATOM}feed"


def test_count_inlinecount_and_expand(http: requests.Session) -> None:
    json_format = {"$format": "json"}
    with OnecSandbox() as onec:
        create(http, onec, INVOICE_SET, invoice_body())
        create(http, onec, INVOICE_SET, invoice_body(Контрагент_Key="b7569c1f-f670-11ea-8591-000c29b45b09"))
        count = http.get(f"{onec.url}{INVOICE_SET}/$count", timeout=10)
        filtered = http.get(
            f"{onec.url}{INVOICE_SET}/$count", params={"$filter": f"Контрагент_Key eq guid'{ROMASHKA}'"}, timeout=10
        )
        counted = http.get(
            f"{onec.url}{INVOICE_SET}", params={**json_format, "$inlinecount": "allpages", "$top": "1"}, timeout=10
        )
        uncounted = http.get(f"{onec.url}{INVOICE_SET}", params={**json_format, "$inlinecount": "none"}, timeout=10)
        wrong = http.get(f"{onec.url}{INVOICE_SET}", params={**json_format, "$inlinecount": "some"}, timeout=10)
        expanded = http.get(
            f"{onec.url}{INVOICE_SET}", params={**json_format, "$expand": "Контрагент,Организация"}, timeout=10
        )
        unknown = http.get(f"{onec.url}{INVOICE_SET}", params={**json_format, "$expand": "Нет"}, timeout=10)
    assert (count.status_code, count.text) == (200, "2")
    assert filtered.text == "1"
    assert counted.json()["odata.count"] == "2"
    assert len(counted.json()["value"]) == 1
    assert "odata.count" not in uncounted.json()
    assert wrong.json()["odata.error"]["code"] == "14"
    first = expanded.json()["value"][0]
    assert first["Контрагент"]["Ref_Key"] == first["Контрагент_Key"]
    assert first["Организация"]["ИНН"] == "7704407589"
    assert unknown.json()["odata.error"]["code"] == "10"


def test_a_document_whose_posting_failed_is_posted_by_the_retry() -> None:
    posts = 0

    def refuse_first_posting(method: str, entity_set: str) -> Any:
        nonlocal posts
        if method == "POST" and entity_set == INVOICE_SET:
            posts += 1
            if posts == 2:  # the create went through; its Post is refused, as BP refuses an unfilled document
                return injected_fault(500, "-1", 'Не удалось провести: Поле "Банковский счет" не заполнено')
        return None

    stack = LocalStack(parameter_overrides={"OnecPostDocuments": "true"}).start(poll=False)
    try:
        stack.onec.set_fault_hook(refuse_first_posting)
        post(stack, webhook(1001))
        drain(stack)
        [invoice] = documents_for(stack, BUYER_INVOICES, 1001)
        assert invoice["Posted"] is True
        actions = [e.status for e in stack.onec.request_log if e.action == "Post"]
        assert actions == [500, 200]
    finally:
        stack.stop()
