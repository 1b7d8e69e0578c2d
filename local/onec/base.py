"""The 1C sandbox's seeded base: the organisation, counterparties, contracts, items and currencies of
`local.seed` as BP 3.0's catalog rows, what posting refers to (bank accounts, the main warehouse, the accounts of
the chart), and years of posted history for a test that needs a big base. VAT rates by release are in
:mod:`local.onec.releases`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from local.onec.catalogs import ACCOUNTS, BANK_ACCOUNTS, WAREHOUSES
from local.onec.model import EMPTY_DATE, ZERO_GUID, EntityType
from local.onec.store import data_version
from local.seed import OnecBase

# The accounts of the Хозрасчетный chart a sale uses (predefined in BP; codes as in the reference notes §2.7).
ACCOUNT_CODES: dict[str, tuple[str, str]] = {
    "41.01": ("a1b2c3d4-0000-4000-8000-000000004101", "Товары на складах"),
    "62.01": ("a1b2c3d4-0000-4000-8000-000000006201", "Расчеты с покупателями и заказчиками"),
    "62.02": ("a1b2c3d4-0000-4000-8000-000000006202", "Расчеты по авансам полученным"),
    "90.01.1": ("a1b2c3d4-0000-4000-8000-000000009011", "Выручка по деятельности с основной системой налогообложения"),
    "90.02.1": ("a1b2c3d4-0000-4000-8000-000000009021", "Себестоимость продаж по деятельности с основной системой"),
    "90.03": ("a1b2c3d4-0000-4000-8000-000000009003", "Налог на добавленную стоимость"),
}
WAREHOUSE_KEY = "a1b2c3d4-0000-4000-8000-0000000000a1"
_BANK_ACCOUNT_TAIL = "0000000000b1"


@dataclass(frozen=True)
class AccountingSetUp:
    """What the imitated base has set up for posting; each ``False`` is a base that lacks it."""

    bank_accounts: bool = True  # each organisation has a main bank account
    warehouse: bool = True  # the main warehouse exists
    chart_of_accounts: bool = True  # the Хозрасчетный accounts a sale uses are published
    accounts_filled_on_write: bool = False  # a release that fills a sale's empty accounting fields on write


def catalog_rows(base: OnecBase) -> dict[str, list[dict[str, Any]]]:
    """Catalog rows in BP 3.0's JSON shape (see shared/reference/onec_samples)."""
    version = data_version(1)
    common = {"DataVersion": version, "DeletionMark": False}
    tail = {"Predefined": False, "PredefinedDataName": ""}
    folder = {"Parent_Key": ZERO_GUID, "IsFolder": False}
    currency_key = base.currencies[0].ref_key if base.currencies else ZERO_GUID
    head_by_inn: dict[str, str] = {}
    counterparties = []
    for cp in base.counterparties:
        head = head_by_inn.setdefault(cp.inn, cp.ref_key)
        counterparties.append({
            "Ref_Key": cp.ref_key, **common, **folder, "Code": cp.code, "Description": cp.description,
            "НаименованиеПолное": cp.full_name, "ОбособленноеПодразделение": head != cp.ref_key,
            "ЮридическоеФизическоеЛицо": cp.legal_form, "СтранаРегистрации_Key": ZERO_GUID,
            "ГоловнойКонтрагент_Key": head, "ИНН": cp.inn, "КПП": cp.kpp, "КодПоОКПО": "",
            "ОсновнойБанковскийСчет_Key": ZERO_GUID, "Комментарий": "", "ДополнительнаяИнформация": "",
            "ИННВведенКорректно": True, "КППВведенКорректно": bool(cp.kpp), "РегистрационныйНомер": "",
            "КонтактнаяИнформация": [], **tail,
        })  # fmt: skip
    organizations = [
        {
            "Ref_Key": org.ref_key, **common, "Code": f"00-{n:06d}", "Description": org.description,
            "ГоловнаяОрганизация_Key": org.ref_key, "КПП": org.kpp, "ИНН": org.inn, "ОГРН": "",
            "НаименованиеПолное": org.full_name, "НаименованиеСокращенное": org.description,
            "ОбособленноеПодразделение": False, "Префикс": org.prefix,
            "ОсновнойБанковскийСчет_Key": ZERO_GUID,
            "ЮридическоеФизическоеЛицо": "ЮридическоеЛицо" if len(org.inn) == 10 else "ФизическоеЛицо",
            "КонтактнаяИнформация": [], **tail,
        }
        for n, org in enumerate(base.organizations, start=1)
    ]  # fmt: skip
    contracts = [
        {
            "Ref_Key": c.ref_key, **common, "Owner_Key": c.owner_key, **folder, "Code": f"00-{n:06d}",
            "Description": c.description, "ВалютаВзаиморасчетов_Key": currency_key, "Комментарий": "",
            "Организация_Key": c.organization_key, "ТипЦен_Key": ZERO_GUID, "ВидДоговора": c.kind,
            "РасчетыВУсловныхЕдиницах": False, "Дата": EMPTY_DATE, "Номер": "", "СрокДействия": EMPTY_DATE,
            "УстановленСрокОплаты": False, "СрокОплаты": "0", "ДоговорПодписан": False,
            "СпособЗаполненияСтавкиНДС": "Автоматически", **tail,
        }
        for n, c in enumerate(base.contracts, start=1)
    ]  # fmt: skip
    nomenclature = [
        {
            "Ref_Key": item.ref_key, **common, **folder, "Code": item.code, "Description": item.description,
            "Артикул": item.article, "ВидНоменклатуры_Key": ZERO_GUID, "ЕдиницаИзмерения_Key": ZERO_GUID,
            "НаименованиеПолное": item.description, "Комментарий": "", "Услуга": item.is_service,
            "НоменклатурнаяГруппа_Key": ZERO_GUID, "УдалитьСтавкаНДС": "", "ВидСтавкиНДС": "Общая", **tail,
        }
        for item in base.nomenclature
    ]  # fmt: skip
    currencies = [
        {
            "Ref_Key": cur.ref_key, **common, "Code": cur.code, "Description": cur.description,
            "ЗагружаетсяИзИнтернета": False, "НаименованиеПолное": cur.full_name, "Наценка": 0,
            "ОсновнаяВалюта_Key": ZERO_GUID, "ПараметрыПрописи": "", "СпособУстановкиКурса": "", **tail,
        }
        for cur in base.currencies
    ]  # fmt: skip
    return {
        "Catalog_Контрагенты": counterparties,
        "Catalog_Номенклатура": nomenclature,
        "Catalog_Организации": organizations,
        "Catalog_ДоговорыКонтрагентов": contracts,
        "Catalog_Валюты": currencies,
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


def history_rows(
    entity_type: EntityType, base: OnecBase, count: int, *, first: datetime, last: datetime
) -> list[dict[str, Any]]:
    """`count` posted documents dated evenly from `first` to `last` (naive, the base's local time), of the base's
    buyers in turn, as a base with years of history has them. Their comments end with markers of another portal's
    deals."""
    if not entity_type.is_document:
        raise ValueError(f"{entity_type.name} is not a document set")
    defaults = entity_type.defaults()
    organization = base.organizations[0].ref_key
    currency = base.currencies[0].ref_key if base.currencies else ZERO_GUID
    buyers = [counterparty.ref_key for counterparty in base.counterparties]
    step = (last - first) / max(count - 1, 1)
    version = data_version(1)
    return [
        {
            **defaults,
            "Ref_Key": str(uuid.uuid4()),
            "DataVersion": version,
            "Number": f"ИМ{index:09d}"[-entity_type.number_length :],
            "Date": (first + step * index).replace(microsecond=0).isoformat(),
            "Posted": True,
            "Организация_Key": organization,
            "Контрагент_Key": buyers[index % len(buyers)],
            "ВалютаДокумента_Key": currency,
            "Комментарий": f"Загружен из УТ 11. Сделка «Заказ {index}» [b24:0f0e0d0c0b0a:deal:{index + 1}]",
        }
        for index in range(count)
    ]
