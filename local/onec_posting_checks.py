"""What BP 3.0 checks when a document is posted, for the 1C sandbox (issue 15, difference 1).

Source: the object modules of the BP 3.0.198.19 configuration dump (``Documents/<Name>/Ext/ObjectModule.bsl``):

* ``СчетНаОплатуПокупателю``: ``ОбработкаПроверкиЗаполнения`` checks the attributes whose FillChecking is ShowError
  (``Date``, ``Организация``, ``Контрагент``, ``ОрганизацияПолучатель``, ``СтруктурнаяЕдиница``, ``ВидОперации``,
  ``Товары.СтавкаНДС``), then by hand each line's ``Номенклатура`` or ``Содержание`` and the ``Количество`` of a line
  that is not a service. When the receiving organisation does not use several bank accounts the bank account
  (``СтруктурнаяЕдиница``) leaves the automatic check, and ``ПередЗаписью`` fills it with that organisation's
  account on every write (``УчетДенежныхСредствБП.УстановитьБанковскийСчет``) — so a write that names
  ``ОрганизацияПолучатель`` of an organisation with a main account gets it; without ``ОрганизацияПолучатель`` nothing
  is filled and posting fails.
* ``РеализацияТоваровУслуг``: ``Склад`` is added to the checks when there are goods; the accounting fields are
  checked by ``СчетаУчетаВДокументах.ПроверитьЗаполнение`` (header ``СчетУчетаРасчетовСКонтрагентом``,
  ``СчетУчетаРасчетовПоАвансам``; goods lines ``СчетУчета``, ``СчетДоходов``, ``СчетРасходов``,
  ``СчетУчетаНДСПоРеализации``; service lines the last three). Whether a release fills them on write by itself is
  not settled by the module we read, so :class:`AccountingSetUp` offers both (``accounts_filled_on_write``); by
  default they must be sent, as the integrators' code in the reference notes does (onec.md §2.7).
* ``СчетФактураВыданный``: its basis (``ДокументОснование``) must be a posted sale.

Posting that fails answers like 1C: HTTP 500, ``odata.error`` code -1 and the messages BP would show.

The sandbox's base also gets what these checks refer to: ``Catalog_БанковскиеСчета`` (a main account per
organisation), ``Catalog_Склады`` (the main warehouse) and ``ChartOfAccounts_Хозрасчетный`` (the accounts a sale
uses) — each can be left out (:class:`AccountingSetUp`) to show what the bridge says then.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from local.onec_metadata import (
    EMPTY_DATE,
    INVOICE_SET,
    NOMENCLATURE,
    ORGANIZATIONS,
    SALE_SET,
    TAX_INVOICE_SET,
    ZERO_GUID,
    Edm,
    EntityType,
    Prop,
)

BANK_ACCOUNTS = "Catalog_БанковскиеСчета"
WAREHOUSES = "Catalog_Склады"
ACCOUNTS = "ChartOfAccounts_Хозрасчетный"

# The accounts of the Хозрасчетный chart a sale uses (predefined in BP; codes as in the reference notes §2.7).
ACCOUNT_CODES: dict[str, tuple[str, str]] = {
    "41.01": ("a1b2c3d4-0000-4000-8000-000000004101", "Товары на складах"),
    "62.01": ("a1b2c3d4-0000-4000-8000-000000006201", "Расчеты с покупателями и заказчиками"),
    "62.02": ("a1b2c3d4-0000-4000-8000-000000006202", "Расчеты по авансам полученным"),
    "90.01.1": ("a1b2c3d4-0000-4000-8000-000000009011", "Выручка по деятельности с основной системой налогообложения"),
    "90.02.1": ("a1b2c3d4-0000-4000-8000-000000009021", "Себестоимость продаж по деятельности с основной системой"),
    "90.03": ("a1b2c3d4-0000-4000-8000-000000009003", "Налог на добавленную стоимость"),
}
SALE_HEADER_ACCOUNTS = {"СчетУчетаРасчетовСКонтрагентом_Key": "62.01", "СчетУчетаРасчетовПоАвансам_Key": "62.02"}
SALE_LINE_ACCOUNTS = {
    "СчетУчета_Key": "41.01",
    "СчетДоходов_Key": "90.01.1",
    "СчетРасходов_Key": "90.02.1",
    "СчетУчетаНДСПоРеализации_Key": "90.03",
}
SERVICE_LINE_ACCOUNTS = {name: code for name, code in SALE_LINE_ACCOUNTS.items() if name != "СчетУчета_Key"}
WAREHOUSE_KEY = "a1b2c3d4-0000-4000-8000-0000000000a1"
_BANK_ACCOUNT_TAIL = "0000000000b1"

# What BP names the fields in its messages (the attributes' synonyms).
_SYNONYMS = {
    "Date": "Дата",
    "Организация_Key": "Организация",
    "Контрагент_Key": "Контрагент",
    "ОрганизацияПолучатель_Key": "Получатель платежа",
    "СтруктурнаяЕдиница_Key": "Банковский счет",
    "ВидОперации": "Вид операции",
    "Склад_Key": "Склад",
    "СчетУчетаРасчетовСКонтрагентом_Key": "Счет учета расчетов с контрагентом",
    "СчетУчетаРасчетовПоАвансам_Key": "Счет учета расчетов по авансам",
    "СчетУчета_Key": "Счет учета",
    "СчетДоходов_Key": "Счет доходов",
    "СчетРасходов_Key": "Счет расходов",
    "СчетУчетаНДСПоРеализации_Key": "Счет НДС",
    "Количество": "Количество",
    "СтавкаНДС": "% НДС",
    "Номенклатура": "Номенклатура",
    "ДокументОснование": "Документ-основание",
    "ВидСчетаФактуры": "Вид счета-фактуры",
}
_LIST_NAMES = {"Товары": "Товары", "Услуги": "Услуги"}


@dataclass(frozen=True)
class AccountingSetUp:
    """What the imitated base has set up for posting; each ``False`` is a base that lacks it."""

    bank_accounts: bool = True  # each organisation has a main bank account
    warehouse: bool = True  # the main warehouse exists
    chart_of_accounts: bool = True  # the Хозрасчетный accounts a sale uses are published
    accounts_filled_on_write: bool = False  # a release that fills a sale's empty accounting fields on write


def _empty(value: Any) -> bool:
    return value in (None, "", ZERO_GUID, EMPTY_DATE) or (isinstance(value, str) and not value.strip())


def _field_missing(name: str) -> str:
    return f'Поле "{_SYNONYMS.get(name, name)}" не заполнено'


def _column_missing(name: str, line: Any, section: str) -> str:
    return f'Не заполнена колонка "{_SYNONYMS.get(name, name)}" в строке {line} списка "{_LIST_NAMES.get(section, section)}"'


# ---- the objects the checks refer to ---------------------------------------------------------------------


def _catalog(name: str, *props: Prop) -> EntityType:
    head = (
        Prop("Ref_Key", Edm.GUID, ZERO_GUID), Prop("DataVersion", Edm.STRING, ""),
        Prop("DeletionMark", Edm.BOOLEAN, False), Prop("Code", Edm.STRING, ""), Prop("Description", Edm.STRING, ""),
    )  # fmt: skip
    tail = (Prop("Predefined", Edm.BOOLEAN, False), Prop("PredefinedDataName", Edm.STRING, ""))
    return EntityType(name, (*head, *props, *tail))


def posting_types() -> dict[str, EntityType]:
    """The entity sets posting refers to, published alongside the sandbox's own."""
    return {
        BANK_ACCOUNTS: _catalog(
            BANK_ACCOUNTS,
            Prop("Owner_Key", Edm.GUID, ZERO_GUID, references=(ORGANIZATIONS,)),
            Prop("НомерСчета", Edm.STRING, ""),
            Prop("Банк_Key", Edm.GUID, ZERO_GUID),
            Prop("ВалютаДенежныхСредств_Key", Edm.GUID, ZERO_GUID),
        ),
        WAREHOUSES: _catalog(WAREHOUSES, Prop("ТипСклада", Edm.STRING, "")),
        ACCOUNTS: _catalog(ACCOUNTS, Prop("Забалансовый", Edm.BOOLEAN, False), Prop("Вид", Edm.STRING, "")),
    }


def bank_account_key(organization_key: str) -> str:
    return organization_key[:24] + _BANK_ACCOUNT_TAIL


def posting_rows(
    organizations: list[dict[str, Any]], set_up: AccountingSetUp, data_version: str
) -> dict[str, list[dict[str, Any]]]:
    """Rows of the posting catalogs; sets each organisation's main bank account (when the base has them)."""
    common = {"DataVersion": data_version, "DeletionMark": False, "Predefined": False, "PredefinedDataName": ""}
    accounts = []
    for number, organization in enumerate(organizations, start=1):
        if not set_up.bank_accounts:
            continue
        key = bank_account_key(organization["Ref_Key"])
        organization["ОсновнойБанковскийСчет_Key"] = key
        accounts.append({
            "Ref_Key": key, **common, "Code": f"00-{number:06d}", "Description": "Основной расчетный счет",
            "Owner_Key": organization["Ref_Key"], "НомерСчета": f"4070281000000000{number:04d}",
            "Банк_Key": ZERO_GUID, "ВалютаДенежныхСредств_Key": ZERO_GUID,
        })  # fmt: skip
    warehouses = (
        [{"Ref_Key": WAREHOUSE_KEY, **common, "Code": "00-000001", "Description": "Основной склад", "ТипСклада": ""}]
        if set_up.warehouse
        else []
    )
    chart = (
        [
            {
                **common,
                "Ref_Key": key,
                "Code": code,
                "Description": name,
                "Predefined": True,
                "PredefinedDataName": "Счет" + code.replace(".", "_"),
                "Забалансовый": False,
                "Вид": "АктивноПассивный",
            }
            for code, (key, name) in ACCOUNT_CODES.items()
        ]
        if set_up.chart_of_accounts
        else []
    )
    return {BANK_ACCOUNTS: accounts, WAREHOUSES: warehouses, ACCOUNTS: chart}


# ---- on write ----------------------------------------------------------------------------------------------

Find = Callable[[str, str], dict[str, Any] | None]
Rows = Callable[[str], list[dict[str, Any]]]


def before_write(entity_set: str, entity: dict[str, Any], rows: Rows, set_up: AccountingSetUp) -> None:
    """What BP's ``ПередЗаписью`` fills that posting needs (see the module docstring)."""
    if entity_set == INVOICE_SET:
        receiver = entity.get("ОрганизацияПолучатель_Key")
        if not _empty(receiver) and _empty(entity.get("СтруктурнаяЕдиница_Key")):
            owned = [row for row in rows(BANK_ACCOUNTS) if row["Owner_Key"] == receiver and not row["DeletionMark"]]
            if len(owned) == 1:  # not "several bank accounts": the organisation's account is set
                entity["СтруктурнаяЕдиница_Key"] = owned[0]["Ref_Key"]
    if entity_set == SALE_SET and set_up.accounts_filled_on_write:
        chart = {row["Code"]: row["Ref_Key"] for row in rows(ACCOUNTS)}
        _fill(entity, SALE_HEADER_ACCOUNTS, chart)
        for line in entity.get("Товары", []):
            _fill(line, SALE_LINE_ACCOUNTS, chart)
        for line in entity.get("Услуги", []):
            _fill(line, SERVICE_LINE_ACCOUNTS, chart)


def _fill(values: dict[str, Any], names: Mapping[str, str], chart: Mapping[str, str]) -> None:
    for name, code in names.items():
        if _empty(values.get(name)) and code in chart:
            values[name] = chart[code]


# ---- on Post -----------------------------------------------------------------------------------------------


def posting_problems(entity_set: str, document: Mapping[str, Any], find: Find) -> list[str]:
    """The messages BP's ``ОбработкаПроверкиЗаполнения`` (and the basis check) would give; empty when it posts."""
    if entity_set == INVOICE_SET:
        return _invoice_problems(document, find)
    if entity_set == SALE_SET:
        return _sale_problems(document)
    if entity_set == TAX_INVOICE_SET:
        return _tax_invoice_problems(document, find)
    return []


def _header(document: Mapping[str, Any], *names: str) -> list[str]:
    return [_field_missing(name) for name in names if _empty(document.get(name))]


def _is_service(line: Mapping[str, Any], find: Find) -> bool:
    """BP counts a line as a service unless its item is found and is not one."""
    item = line.get("Номенклатура") or line.get("Номенклатура_Key")
    found = find(NOMENCLATURE, str(item)) if not _empty(item) else None
    return found is None or bool(found.get("Услуга"))


def _invoice_problems(document: Mapping[str, Any], find: Find) -> list[str]:
    problems = _header(
        document, "Date", "Организация_Key", "Контрагент_Key", "ОрганизацияПолучатель_Key", "ВидОперации",
        "СтруктурнаяЕдиница_Key",
    )  # fmt: skip
    for line in document.get("Товары", []):
        number = line.get("LineNumber")
        item = line.get("Номенклатура") or line.get("Номенклатура_Key")
        if _empty(item) and _empty(line.get("Содержание")):
            problems.append(_column_missing("Номенклатура", number, "Товары"))
        service = document.get("ВидОперации") == "ТоварыИУслуги" and _is_service(line, find)
        if not service and not line.get("Количество"):
            problems.append(_column_missing("Количество", number, "Товары"))
        if _empty(line.get("СтавкаНДС")):
            problems.append(_column_missing("СтавкаНДС", number, "Товары"))
    return problems


def _sale_problems(document: Mapping[str, Any]) -> list[str]:
    problems = _header(document, "Date", "Организация_Key", "Контрагент_Key", "ВидОперации")
    if document.get("Товары"):
        problems += _header(document, "Склад_Key")
    problems += _header(document, *SALE_HEADER_ACCOUNTS)
    for section, accounts in (("Товары", SALE_LINE_ACCOUNTS), ("Услуги", SERVICE_LINE_ACCOUNTS)):
        for line in document.get(section, []):
            number = line.get("LineNumber")
            for name in (*accounts, "СтавкаНДС"):
                if _empty(line.get(name)):
                    problems.append(_column_missing(name, number, section))
            if not line.get("Количество"):
                problems.append(_column_missing("Количество", number, section))
    return problems


def _tax_invoice_problems(document: Mapping[str, Any], find: Find) -> list[str]:
    problems = _header(document, "Date", "Организация_Key", "Контрагент_Key", "ДокументОснование", "ВидСчетаФактуры")
    basis = document.get("ДокументОснование")
    if not _empty(basis):
        sale = find(SALE_SET, str(basis))
        if sale is None or not sale.get("Posted"):
            problems.append("Документ-основание не проведен")
    return problems


def posting_failure(title: str, problems: list[str]) -> str:
    return f"Не удалось провести «{title}»: " + "; ".join(problems)
