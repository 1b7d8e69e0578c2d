"""The catalogs of the 1C sandbox (`Catalog_…`, and the chart of accounts BP posts to), as BP 3.0 publishes them,
and the rules BP applies when a counterparty or a contract is written.

The seeded base (`local.onec.base`) fills them; a bridge creates counterparties and contracts by POST.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from local.onec.model import (
    CATALOG_TAIL,
    CONTRACTS,
    COUNTERPARTIES,
    CURRENCIES,
    NOMENCLATURE,
    ORGANIZATIONS,
    ZERO_GUID,
    EntityType,
    TabularSection,
    catalog_head,
    date,
    enum,
    flag,
    integer,
    key,
    number,
    text,
)
from local.onec.protocol import ODataError
from local.onec.releases import VAT_ENUM
from local.onec.store import Store, require

BANK_ACCOUNTS = "Catalog_БанковскиеСчета"
WAREHOUSES = "Catalog_Склады"
ACCOUNTS = "ChartOfAccounts_Хозрасчетный"
_DESCRIPTION_LENGTH = 100  # Catalog_Контрагенты.Description (onec.md §2.1)

_CONTACTS = TabularSection(
    "КонтактнаяИнформация",
    (text("Тип"), key("Вид_Key"), text("Представление"), text("ЗначенияПолей"), text("АдресЭП"),
     text("НомерТелефона")),
)  # fmt: skip
_COUNTERPARTIES = EntityType(
    COUNTERPARTIES,
    (
        *catalog_head(), text("НаименованиеПолное"), flag("ОбособленноеПодразделение"),
        enum("ЮридическоеФизическоеЛицо", "ЮридическоеФизическоеЛицо"), key("СтранаРегистрации_Key"),
        key("ГоловнойКонтрагент_Key", COUNTERPARTIES), text("ИНН"), text("КПП"), text("КодПоОКПО"),
        key("ОсновнойБанковскийСчет_Key"), text("Комментарий"), text("ДополнительнаяИнформация"),
        flag("ИННВведенКорректно"), flag("КППВведенКорректно"), text("РегистрационныйНомер"), *CATALOG_TAIL,
    ),
    (_CONTACTS,),
)  # fmt: skip
_NOMENCLATURE = EntityType(
    NOMENCLATURE,
    (
        *catalog_head(), text("Артикул"), key("ВидНоменклатуры_Key"), key("ЕдиницаИзмерения_Key"),
        text("НаименованиеПолное"), text("Комментарий"), flag("Услуга"), key("НоменклатурнаяГруппа_Key"),
        enum("УдалитьСтавкаНДС", VAT_ENUM), enum("ВидСтавкиНДС", "ВидыСтавокНДС"), *CATALOG_TAIL,
    ),
)  # fmt: skip
_ORGANIZATIONS = EntityType(
    ORGANIZATIONS,
    (
        *catalog_head(hierarchical=False), key("ГоловнаяОрганизация_Key", ORGANIZATIONS), text("КПП"),
        text("ИНН"), text("ОГРН"), text("НаименованиеПолное"), text("НаименованиеСокращенное"),
        flag("ОбособленноеПодразделение"), text("Префикс"), key("ОсновнойБанковскийСчет_Key"),
        enum("ЮридическоеФизическоеЛицо", "ЮридическоеФизическоеЛицо"), *CATALOG_TAIL,
    ),
    (_CONTACTS,),
)  # fmt: skip
_CONTRACTS = EntityType(
    CONTRACTS,
    (
        *catalog_head(owner=COUNTERPARTIES), key("ВалютаВзаиморасчетов_Key", CURRENCIES), text("Комментарий"),
        key("Организация_Key", ORGANIZATIONS), key("ТипЦен_Key"),
        enum("ВидДоговора", "ВидыДоговоровКонтрагентов"), flag("РасчетыВУсловныхЕдиницах"), date("Дата"),
        text("Номер"), date("СрокДействия"), flag("УстановленСрокОплаты"), integer("СрокОплаты"),
        flag("ДоговорПодписан"), text("СпособЗаполненияСтавкиНДС"), *CATALOG_TAIL,
    ),
)  # fmt: skip
_CURRENCIES = EntityType(
    CURRENCIES,
    (
        *catalog_head(hierarchical=False), flag("ЗагружаетсяИзИнтернета"), text("НаименованиеПолное"),
        number("Наценка"), key("ОсновнаяВалюта_Key", CURRENCIES), text("ПараметрыПрописи"),
        text("СпособУстановкиКурса"), *CATALOG_TAIL,
    ),
)  # fmt: skip
# What posting refers to (local.onec.posting): a main bank account per organisation, the main warehouse, the
# accounts of the Хозрасчетный chart a sale uses.
_BANK_ACCOUNTS = EntityType(
    BANK_ACCOUNTS,
    (
        *catalog_head(hierarchical=False), key("Owner_Key", ORGANIZATIONS), text("НомерСчета"), key("Банк_Key"),
        key("ВалютаДенежныхСредств_Key"), *CATALOG_TAIL,
    ),
)  # fmt: skip
_WAREHOUSES = EntityType(WAREHOUSES, (*catalog_head(hierarchical=False), text("ТипСклада"), *CATALOG_TAIL))
_ACCOUNTS = EntityType(ACCOUNTS, (*catalog_head(hierarchical=False), flag("Забалансовый"), text("Вид"), *CATALOG_TAIL))


def catalog_types() -> tuple[EntityType, ...]:
    """The catalogs of the seed rows, in publication order."""
    return (_COUNTERPARTIES, _NOMENCLATURE, _ORGANIZATIONS, _CONTRACTS, _CURRENCIES)


def posting_catalog_types() -> tuple[EntityType, ...]:
    """The catalogs posting refers to, published after the registers."""
    return (_BANK_ACCOUNTS, _WAREHOUSES, _ACCOUNTS)


# ---- writing -----------------------------------------------------------------------------------------------


def check_counterparty(store: Store, entity_type: EntityType, entity: dict[str, Any], body: Mapping[str, Any]) -> None:
    require(entity, "Description")
    if len(entity["Description"]) > _DESCRIPTION_LENGTH:
        raise ODataError(
            400,
            "4",
            f"Неверное значение свойства Description: длина {len(entity['Description'])} больше "
            f"{_DESCRIPTION_LENGTH} символов (полное наименование — в НаименованиеПолное)",
        )
    require(entity, "ЮридическоеФизическоеЛицо")
    if entity["ГоловнойКонтрагент_Key"] == ZERO_GUID:
        entity["ГоловнойКонтрагент_Key"] = entity["Ref_Key"]  # BP ПередЗаписью (onec.md §2.1)
    entity["ИННВведенКорректно"] = _inn_is_valid(entity["ИНН"])
    entity["КППВведенКорректно"] = bool(re.fullmatch(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}", entity["КПП"]))


def check_contract(store: Store, entity_type: EntityType, entity: dict[str, Any], body: Mapping[str, Any]) -> None:
    require(entity, "Owner_Key", "Организация_Key", "ВидДоговора", "Description")


def _inn_is_valid(inn: str) -> bool:
    """ИНН checksum as BP checks it (onec.md §3.1)."""
    if not re.fullmatch(r"[0-9]{10}|[0-9]{12}", inn) or inn.startswith("00"):
        return False
    digits = [int(char) for char in inn]

    def check(weights: list[int]) -> int:
        return sum(w * d for w, d in zip(weights, digits, strict=False)) % 11 % 10

    if len(digits) == 10:
        return check([2, 4, 10, 3, 5, 9, 4, 6, 8]) == digits[9]
    return (
        check([7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == digits[10] and check([3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == digits[11]
    )
