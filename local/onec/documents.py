"""The documents of the 1C sandbox (`Document_…`) as BP 3.0 publishes them — buyer invoices, sales, tax invoices
and bank receipts — and the rules BP applies when a bridge writes the first three.

Posting (`/Post`, `/Unpost`) and what BP checks then are in :mod:`local.onec.posting`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from local.onec.model import (
    CONTRACTS,
    COUNTERPARTIES,
    CURRENCIES,
    DOCUMENT_HEAD,
    INVOICE_SET,
    NOMENCLATURE,
    ORGANIZATIONS,
    SALE_SET,
    TAX_INVOICE_SET,
    ZERO_GUID,
    EntityType,
    Prop,
    TabularSection,
    composite,
    date,
    enum,
    flag,
    integer,
    key,
    number,
    text,
)
from local.onec.protocol import ODataError
from local.onec.releases import VAT_ENUM, OnecFlavour
from local.onec.store import Store, require

RECEIPTS = "Document_ПоступлениеНаРасчетныйСчет"

_DOCUMENT_ROW_AMOUNTS = (number("Количество"), number("Цена"), number("Сумма"))
_VAT_COLUMNS = (enum("СтавкаНДС", VAT_ENUM), number("СуммаНДС"))


# ---- documents -------------------------------------------------------------------------------------------


def _buyer_invoice(flavour: OnecFlavour) -> EntityType:
    """СчетНаОплатуПокупателю (onec.md §2.6); in 3.0.198 the line's item is composite, in 2018 single-typed."""
    item: tuple[Prop, ...] = (
        composite("Номенклатура", NOMENCLATURE) if flavour.composite_invoice_nomenclature
        else (key("Номенклатура_Key", NOMENCLATURE),)
    )  # fmt: skip
    goods = TabularSection(
        "Товары",
        (
            *item, text("Содержание"), *_DOCUMENT_ROW_AMOUNTS, number("ПроцентСкидки"), number("СуммаСкидки"),
            *_VAT_COLUMNS, text("ИдентификаторСтроки"), text("ИдентификаторРодительскойСтроки"),
        ),
    )  # fmt: skip
    returnable = TabularSection("ВозвратнаяТара", (key("Номенклатура_Key", NOMENCLATURE), *_DOCUMENT_ROW_AMOUNTS))
    payment_code = TabularSection("РеквизитыКодаДляОплаты", (text("Реквизит"), text("Значение")))
    return EntityType(
        INVOICE_SET,
        (
            *DOCUMENT_HEAD, key("Организация_Key", ORGANIZATIONS), key("Склад_Key"),
            key("ПодразделениеОрганизации_Key"), key("Контрагент_Key", COUNTERPARTIES),
            key("ДоговорКонтрагента_Key", CONTRACTS), key("ОрганизацияПолучатель_Key", ORGANIZATIONS),
            key("СтруктурнаяЕдиница_Key"), key("Ответственный_Key"), key("ВалютаДокумента_Key", CURRENCIES),
            key("ТипЦен_Key"), key("Руководитель_Key"), key("ГлавныйБухгалтер_Key"),
            key("ДополнительныеУсловия_Key"), key("ЗаРуководителяНаОсновании_Key"),
            key("ЗаГлавногоБухгалтераНаОсновании_Key"), key("СпособДоставки_Key"), key("ЗаголовокСчета_Key"),
            enum("ВидОперации", "ВидыОперацийСчетаПокупателю"), text("АдресДоставки"),
            text("АдресДоставкиЗначение"), text("Комментарий"), number("КурсВзаиморасчетов"),
            integer("КратностьВзаиморасчетов"), number("СуммаСкидки"), flag("СуммаВключаетНДС"),
            number("СуммаДокумента"), flag("ДокументБезНДС"), text("СсылочныйИдентификатор"),
            *composite("ДокументОснование"), text("ВариантПечатиQRКода"),
        ),
        (goods, returnable, payment_code),
        number_length=11,
    )  # fmt: skip


def _sale() -> EntityType:
    """РеализацияТоваровУслуг (onec.md §2.7); its lines are single-typed (`Номенклатура_Key`) in every release."""
    line_tail = (
        key("СчетДоходов_Key"), *composite("Субконто"), key("СчетУчетаНДСПоРеализации_Key"),
        key("СчетРасходов_Key"), key("СчетНаОплатуПокупателю_Key", INVOICE_SET),
    )  # fmt: skip
    goods = TabularSection(
        "Товары",
        (
            key("Номенклатура_Key", NOMENCLATURE), key("ЕдиницаИзмерения_Key"), number("Коэффициент"),
            *_DOCUMENT_ROW_AMOUNTS, *_VAT_COLUMNS, key("СчетУчета_Key"), *line_tail,
        ),
    )  # fmt: skip
    services = TabularSection(
        "Услуги",
        (key("Номенклатура_Key", NOMENCLATURE), text("Содержание"), *_DOCUMENT_ROW_AMOUNTS, *_VAT_COLUMNS,
         *line_tail),
    )  # fmt: skip
    return EntityType(
        SALE_SET,
        (
            *DOCUMENT_HEAD, enum("ВидОперации", "ВидыОперацийРеализацияТоваров"),
            key("Организация_Key", ORGANIZATIONS), key("Склад_Key"), key("ПодразделениеОрганизации_Key"),
            key("Контрагент_Key", COUNTERPARTIES), key("ДоговорКонтрагента_Key", CONTRACTS),
            text("СпособЗачетаАвансов"), key("ТипЦен_Key"), key("ВалютаДокумента_Key", CURRENCIES),
            number("КурсВзаиморасчетов"), integer("КратностьВзаиморасчетов"), flag("СуммаВключаетНДС"),
            key("СчетУчетаРасчетовСКонтрагентом_Key"), key("СчетУчетаРасчетовПоАвансам_Key"),
            key("СчетНаОплатуПокупателю_Key", INVOICE_SET), key("БанковскийСчетОрганизации_Key"),
            text("АдресДоставки"), number("СуммаДокумента"), flag("ДокументБезНДС"),
            flag("ЭтоУниверсальныйДокумент"), key("Ответственный_Key"), key("Руководитель_Key"),
            key("ГлавныйБухгалтер_Key"), text("Комментарий"), text("НомерВходящегоДокумента"),
        ),
        (goods, services),
        number_length=11,
    )  # fmt: skip


def _tax_invoice() -> EntityType:
    """СчетФактураВыданный (onec.md §2.8), issued «на основании» a sale."""
    return EntityType(
        TAX_INVOICE_SET,
        (
            *DOCUMENT_HEAD, enum("ВидСчетаФактуры", "ВидСчетаФактурыВыставленного"),
            key("Организация_Key", ORGANIZATIONS), key("Контрагент_Key", COUNTERPARTIES),
            key("ДоговорКонтрагента_Key", CONTRACTS), *composite("ДокументОснование", SALE_SET),
            key("СчетНаОплату_Key", INVOICE_SET), flag("Исправление"), integer("НомерИсправления"),
            text("КодВидаОперации"), flag("Выставлен"), date("ДатаВыставления"),
            integer("КодСпособаВыставления"), enum("СтавкаНДС", VAT_ENUM), number("Сумма"), number("СуммаНДС"),
            number("СуммаДокумента"), number("СуммаНДСДокумента"), key("ВалютаДокумента_Key", CURRENCIES),
            text("КППКонтрагента"), text("НомерВходящегоДокумента"), text("Комментарий"),
        ),
        (TabularSection("ДокументыОснования", composite("ДокументОснование", SALE_SET)),),
        number_length=12,
    )  # fmt: skip


# `Document_ПоступлениеНаРасчетныйСчет` with its tabular section `РасшифровкаПлатежа` (`СчетНаОплату_Key`,
# `СуммаПлатежа`, `ДоговорКонтрагента_Key`): the accountant records it (local.onec.accounting), never the bridge.
RECEIPT = EntityType(
    RECEIPTS,
    (
        *DOCUMENT_HEAD, enum("ВидОперации", "ВидыОперацийПоступлениеДенежныхСредств"),
        key("Организация_Key", ORGANIZATIONS), key("Контрагент_Key", COUNTERPARTIES),
        key("ВалютаДокумента_Key", CURRENCIES), number("СуммаДокумента"), text("НазначениеПлатежа"),
        text("НомерВходящегоДокумента"), date("ДатаВходящегоДокумента"), text("Комментарий"),
    ),
    (
        TabularSection(
            "РасшифровкаПлатежа",
            (
                key("ДоговорКонтрагента_Key", CONTRACTS), key("СчетНаОплату_Key", INVOICE_SET),
                number("СуммаПлатежа"), enum("СтавкаНДС", VAT_ENUM), number("СуммаНДС"),
            ),
        ),
    ),
    number_length=11,
)  # fmt: skip


def document_types(flavour: OnecFlavour) -> tuple[EntityType, ...]:
    """The documents a bridge writes, in publication order."""
    return (_buyer_invoice(flavour), _sale(), _tax_invoice())


# ---- writing -----------------------------------------------------------------------------------------------


def check_invoice(store: Store, entity_type: EntityType, entity: dict[str, Any], body: Mapping[str, Any]) -> None:
    require(entity, "Организация_Key", "Контрагент_Key", "ВалютаДокумента_Key")
    _check_contract(store, entity)
    _check_items(entity_type, entity)
    if not entity["СсылочныйИдентификатор"]:
        entity["СсылочныйИдентификатор"] = str(uuid.uuid4())
    entity["СуммаДокумента"] = _document_total(entity["Товары"], bool(entity["СуммаВключаетНДС"]))


def check_sale(store: Store, entity_type: EntityType, entity: dict[str, Any], body: Mapping[str, Any]) -> None:
    require(entity, "Организация_Key", "Контрагент_Key", "ВалютаДокумента_Key")
    _check_contract(store, entity)
    _check_items(entity_type, entity)
    lines = [*entity["Товары"], *entity["Услуги"]]
    entity["СуммаДокумента"] = _document_total(lines, bool(entity["СуммаВключаетНДС"]))


def check_tax_invoice(store: Store, entity_type: EntityType, entity: dict[str, Any], body: Mapping[str, Any]) -> None:
    require(entity, "Организация_Key", "Контрагент_Key", "ДокументОснование")
    _check_contract(store, entity)
    refs = [entity["ДокументОснование"]]
    for row in entity["ДокументыОснования"]:
        if not row["ДокументОснование"]:
            where = f"ДокументыОснования (LineNumber={row['LineNumber']})"
            raise ODataError(400, "5", f"Нет обязательного значения свойства {where}.ДокументОснование")
        refs.append(row["ДокументОснование"])
    sales = {ref.lower(): store.find(SALE_SET, ref) or {} for ref in refs}
    for ref, sale in sales.items():
        for name in ("Организация_Key", "Контрагент_Key"):
            if sale.get(name) != entity[name]:
                raise ODataError(
                    400, "4", f"Неверное значение свойства {name}: не совпадает с документом-основанием {ref}"
                )
    # Totals come from the sales unless the body gives them (BP fills a tax invoice from its basis).
    if "СуммаДокумента" not in body:
        entity["СуммаДокумента"] = sum((Decimal(s["СуммаДокумента"]) for s in sales.values()), Decimal(0))
    if "СуммаНДСДокумента" not in body:
        entity["СуммаНДСДокумента"] = sum(
            (Decimal(line["СуммаНДС"]) for s in sales.values() for line in [*s["Товары"], *s["Услуги"]]),
            Decimal(0),
        )
    if entity["ВалютаДокумента_Key"] == ZERO_GUID:
        entity["ВалютаДокумента_Key"] = sales[entity["ДокументОснование"].lower()]["ВалютаДокумента_Key"]


def _check_contract(store: Store, entity: Mapping[str, Any]) -> None:
    contract = store.find(CONTRACTS, entity.get("ДоговорКонтрагента_Key", ZERO_GUID))
    if contract is not None and contract["Owner_Key"] != entity["Контрагент_Key"]:
        raise ODataError(400, "4", "Неверное значение свойства ДоговорКонтрагента_Key: договор другого контрагента")


def _check_items(entity_type: EntityType, entity: Mapping[str, Any]) -> None:
    """Each VAT-bearing line names an item (or, where the section has it, a text in Содержание)."""
    for section in entity_type.tabular_sections:
        if section.column("СтавкаНДС") is None:
            continue
        for row in entity[section.name]:
            where = f"{section.name} (LineNumber={row['LineNumber']})"
            item = row.get("Номенклатура", "") or row.get("Номенклатура_Key", ZERO_GUID) != ZERO_GUID
            if item:
                continue
            if section.column("Содержание") is None:
                raise ODataError(400, "5", f"Нет обязательного значения свойства {where}.Номенклатура_Key")
            if not str(row.get("Содержание", "")).strip():
                raise ODataError(400, "5", f"Нет обязательного значения свойства {where}: Номенклатура или Содержание")


def _document_total(rows: list[dict[str, Any]], vat_included: bool) -> Decimal:
    total = sum((Decimal(row["Сумма"]) for row in rows), Decimal(0))
    if not vat_included:
        total += sum((Decimal(row["СуммаНДС"]) for row in rows), Decimal(0))
    return total
