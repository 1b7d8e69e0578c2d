"""What the 1C sandbox publishes: entity types per BP release ("flavour") and their `$metadata` (EDMX/CSDL v3).

One description drives both the sandbox's answers (defaults stored for properties a POST leaves out, the property
names `$filter`/`$select` accept, the checks of a write) and the `$metadata` document, so the two cannot drift
apart. Names, types and enum values follow shared/reference/onec.md §1.5, §2 and the BP 3.0.198.19 dump; the
EDMX shape follows the real 1C fragment in onec_samples/ut_real_metadata_fragment.edmx.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any
from xml.sax.saxutils import quoteattr

NAMESPACE = "StandardODATA"
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01T00:00:00"
UNDEFINED_TYPE = f"{NAMESPACE}.Undefined"

INVOICE_SET = "Document_СчетНаОплатуПокупателю"
SALE_SET = "Document_РеализацияТоваровУслуг"
TAX_INVOICE_SET = "Document_СчетФактураВыданный"
COUNTERPARTIES = "Catalog_Контрагенты"
CONTRACTS = "Catalog_ДоговорыКонтрагентов"
NOMENCLATURE = "Catalog_Номенклатура"
ORGANIZATIONS = "Catalog_Организации"
CURRENCIES = "Catalog_Валюты"

VAT_ENUM = "СтавкиНДС"
# Перечисление.СтавкиНДС of BP 3.0.198.19 in the dump's file order (onec_samples/bp30_3.0.198.19_Enums_СтавкиНДС.xml).
ALL_VAT_RATES = (
    "НДС18", "НДС18_118", "НДС10", "НДС10_110", "НДС0", "БезНДС", "НДС20", "НДС20_120",
    "НДС5", "НДС5_105", "НДС7", "НДС7_107", "НДС22", "НДС22_122",
)  # fmt: skip
# Added for the 2025–2026 VAT changes (425-ФЗ, УСН rates); older releases lack them (onec.md §2.10, §5 item 7).
LATE_2025_VAT_RATES = frozenset({"НДС22", "НДС22_122", "НДС5", "НДС5_105", "НДС7", "НДС7_107"})

# The other enumerations the sandbox checks (onec.md §2.1, §2.4, §2.6–2.8).
ENUMS: dict[str, tuple[str, ...]] = {
    "ЮридическоеФизическоеЛицо": ("ЮридическоеЛицо", "ФизическоеЛицо"),
    "ВидыДоговоровКонтрагентов": (
        "СПокупателем", "СПоставщиком", "СКомитентом", "СКомиссионером", "СКомитентомНаЗакупку",
        "СКомиссионеромНаЗакупку", "СФакторинговойКомпанией", "СТранспортнойКомпанией", "ЗаемПолученный", "Прочее",
    ),
    "ВидыОперацийСчетаПокупателю": ("ТоварыИУслуги", "ОсновныеСредства"),
    "ВидыОперацийРеализацияТоваров": (
        "Товары", "Услуги", "ПродажаКомиссия", "ОтгрузкаБезПереходаПраваСобственности", "Оборудование",
        "ПередачаТоваров", "ВыкупТоваровКомиссионером", "СтроительныеРаботы", "ПродажаТоваровСоСкладаКомиссионера",
    ),
    "ВидСчетаФактурыВыставленного": (
        "НаРеализацию", "НаАванс", "НаСуммовуюРазницу", "НалоговыйАгент", "Корректировочный", "НаАвансКомитента",
        "НаАвансКомитентаНаЗакупку", "СводнаяСправка", "КорректировочныйНаАванс", "КорректировочнаяСправка",
    ),
    "ВидыСтавокНДС": (
        "Общая", "ОбщаяРасчетная", "Пониженная", "ПониженнаяРасчетная", "Нулевая", "БезНДС", "ОбщаяУСН",
        "ПониженнаяУСН", "ОбщаяУСНРасчетная", "ПониженнаяУСНРасчетная",
    ),
}  # fmt: skip


class OnecFlavour(Enum):
    """The BP 3.0 release the sandbox imitates; the two differ where a bridge must adapt (onec.md §1.12, §2.10)."""

    BP_3_0_198 = "3.0.198"  # buyer-invoice lines: composite Номенклатура + Номенклатура_Type; all VAT rates
    BP_2018 = "2018"  # buyer-invoice lines: Номенклатура_Key; no НДС22/НДС5/НДС7 (and their estimated rates)

    @property
    def composite_invoice_nomenclature(self) -> bool:
        return self is OnecFlavour.BP_3_0_198

    @property
    def vat_rates(self) -> tuple[str, ...]:
        if self is OnecFlavour.BP_3_0_198:
            return ALL_VAT_RATES
        return tuple(rate for rate in ALL_VAT_RATES if rate not in LATE_2025_VAT_RATES)

    def enums(self) -> dict[str, tuple[str, ...]]:
        return {VAT_ENUM: self.vat_rates, **ENUMS}


class Edm(StrEnum):
    GUID = "Edm.Guid"
    STRING = "Edm.String"
    DOUBLE = "Edm.Double"
    DATETIME = "Edm.DateTime"
    BOOLEAN = "Edm.Boolean"
    INT64 = "Edm.Int64"


@dataclass(frozen=True)
class Prop:
    """A property as 1C publishes it; `default` is what 1C stores (and answers) when a write leaves it out."""

    name: str
    type: Edm
    default: Any
    enum: str | None = None  # 1C enumeration behind an Edm.String property
    # Entity sets a reference may point at, when the sandbox serves them (checked on write): one for a single-type
    # `…_Key`, the allowed types for the value of a composite pair (`X` + `X_Type`); empty = not checked.
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class TabularSection:
    name: str
    columns: tuple[Prop, ...]  # without the row's Ref_Key and LineNumber

    def row_type(self, entity_set: str) -> str:
        return f"{entity_set}_{self.name}_RowType"

    def row_defaults(self) -> dict[str, Any]:
        return {column.name: column.default for column in self.columns}

    def column(self, name: str) -> Prop | None:
        return next((column for column in self.columns if column.name == name), None)


@dataclass(frozen=True)
class EntityType:
    name: str  # also the entity set's name, as in 1C
    properties: tuple[Prop, ...]
    tabular_sections: tuple[TabularSection, ...] = ()
    number_length: int = 0  # documents: length of the autonumber (onec.md §1.6)

    @property
    def is_document(self) -> bool:
        return self.name.startswith("Document_")

    def prop(self, name: str) -> Prop | None:
        return next((prop for prop in self.properties if prop.name == name), None)

    def section(self, name: str) -> TabularSection | None:
        return next((section for section in self.tabular_sections if section.name == name), None)

    def defaults(self) -> dict[str, Any]:
        values: dict[str, Any] = {prop.name: prop.default for prop in self.properties}
        values.update({section.name: [] for section in self.tabular_sections})
        return values

    def names(self) -> set[str]:
        return {prop.name for prop in self.properties} | {section.name for section in self.tabular_sections}


# ---- building blocks -------------------------------------------------------------------------------------


def _key(name: str, reference: str | None = None) -> Prop:
    return Prop(name, Edm.GUID, ZERO_GUID, references=(reference,) if reference else ())


def _keys(*names: str) -> tuple[Prop, ...]:
    return tuple(_key(name) for name in names)


def _text(name: str, default: str = "") -> Prop:
    return Prop(name, Edm.STRING, default)


def _enum(name: str, enum: str) -> Prop:
    return Prop(name, Edm.STRING, "", enum=enum)


def _number(name: str) -> Prop:
    return Prop(name, Edm.DOUBLE, 0)


def _integer(name: str) -> Prop:
    return Prop(name, Edm.INT64, "0")  # 1C answers Edm.Int64 as a JSON string (onec.md §1.5)


def _flag(name: str, default: bool = False) -> Prop:
    return Prop(name, Edm.BOOLEAN, default)


def _date(name: str) -> Prop:
    return Prop(name, Edm.DATETIME, EMPTY_DATE)


def _composite(name: str, *references: str) -> tuple[Prop, Prop]:
    """A composite-type attribute: the value as a string plus its type name (onec.md §1.5)."""
    return Prop(name, Edm.STRING, "", references=references), _text(f"{name}_Type", UNDEFINED_TYPE)


def _catalog_head(*, owner: str | None = None, hierarchical: bool = True) -> tuple[Prop, ...]:
    head = [Prop("Ref_Key", Edm.GUID, ZERO_GUID), _text("DataVersion"), _flag("DeletionMark")]
    if owner is not None:
        head.append(_key("Owner_Key", owner))
    if hierarchical:
        head += [_key("Parent_Key"), _flag("IsFolder")]
    return (*head, _text("Code"), _text("Description"))


_CATALOG_TAIL = (_flag("Predefined"), _text("PredefinedDataName"))
_DOCUMENT_HEAD = (
    Prop("Ref_Key", Edm.GUID, ZERO_GUID), _text("DataVersion"), _flag("DeletionMark"), _text("Number"),
    Prop("Date", Edm.DATETIME, EMPTY_DATE), _flag("Posted"),
)  # fmt: skip
_CONTACTS = TabularSection(
    "КонтактнаяИнформация",
    (_text("Тип"), _key("Вид_Key"), _text("Представление"), _text("ЗначенияПолей"), _text("АдресЭП"),
     _text("НомерТелефона")),
)  # fmt: skip
_DOCUMENT_ROW_AMOUNTS = (_number("Количество"), _number("Цена"), _number("Сумма"))
_VAT_COLUMNS = (_enum("СтавкаНДС", VAT_ENUM), _number("СуммаНДС"))


# ---- catalogs (the properties local.onec_sandbox serves for the seed rows) -------------------------------

_COUNTERPARTIES = EntityType(
    COUNTERPARTIES,
    (
        *_catalog_head(), _text("НаименованиеПолное"), _flag("ОбособленноеПодразделение"),
        _enum("ЮридическоеФизическоеЛицо", "ЮридическоеФизическоеЛицо"), _key("СтранаРегистрации_Key"),
        _key("ГоловнойКонтрагент_Key", COUNTERPARTIES), _text("ИНН"), _text("КПП"), _text("КодПоОКПО"),
        _key("ОсновнойБанковскийСчет_Key"), _text("Комментарий"), _text("ДополнительнаяИнформация"),
        _flag("ИННВведенКорректно"), _flag("КППВведенКорректно"), _text("РегистрационныйНомер"), *_CATALOG_TAIL,
    ),
    (_CONTACTS,),
)  # fmt: skip
_NOMENCLATURE = EntityType(
    NOMENCLATURE,
    (
        *_catalog_head(), _text("Артикул"), _key("ВидНоменклатуры_Key"), _key("ЕдиницаИзмерения_Key"),
        _text("НаименованиеПолное"), _text("Комментарий"), _flag("Услуга"), _key("НоменклатурнаяГруппа_Key"),
        _enum("УдалитьСтавкаНДС", VAT_ENUM), _enum("ВидСтавкиНДС", "ВидыСтавокНДС"), *_CATALOG_TAIL,
    ),
)  # fmt: skip
_ORGANIZATIONS = EntityType(
    ORGANIZATIONS,
    (
        *_catalog_head(hierarchical=False), _key("ГоловнаяОрганизация_Key", ORGANIZATIONS), _text("КПП"),
        _text("ИНН"), _text("ОГРН"), _text("НаименованиеПолное"), _text("НаименованиеСокращенное"),
        _flag("ОбособленноеПодразделение"), _text("Префикс"), _key("ОсновнойБанковскийСчет_Key"),
        _enum("ЮридическоеФизическоеЛицо", "ЮридическоеФизическоеЛицо"), *_CATALOG_TAIL,
    ),
    (_CONTACTS,),
)  # fmt: skip
_CONTRACTS = EntityType(
    CONTRACTS,
    (
        *_catalog_head(owner=COUNTERPARTIES), _key("ВалютаВзаиморасчетов_Key", CURRENCIES), _text("Комментарий"),
        _key("Организация_Key", ORGANIZATIONS), _key("ТипЦен_Key"),
        _enum("ВидДоговора", "ВидыДоговоровКонтрагентов"), _flag("РасчетыВУсловныхЕдиницах"), _date("Дата"),
        _text("Номер"), _date("СрокДействия"), _flag("УстановленСрокОплаты"), _integer("СрокОплаты"),
        _flag("ДоговорПодписан"), _text("СпособЗаполненияСтавкиНДС"), *_CATALOG_TAIL,
    ),
)  # fmt: skip
_CURRENCIES = EntityType(
    CURRENCIES,
    (
        *_catalog_head(hierarchical=False), _flag("ЗагружаетсяИзИнтернета"), _text("НаименованиеПолное"),
        _number("Наценка"), _key("ОсновнаяВалюта_Key", CURRENCIES), _text("ПараметрыПрописи"),
        _text("СпособУстановкиКурса"), *_CATALOG_TAIL,
    ),
)  # fmt: skip


# ---- documents -------------------------------------------------------------------------------------------


def _buyer_invoice(flavour: OnecFlavour) -> EntityType:
    """СчетНаОплатуПокупателю (onec.md §2.6); in 3.0.198 the line's item is composite, in 2018 single-typed."""
    item: tuple[Prop, ...] = (
        _composite("Номенклатура", NOMENCLATURE) if flavour.composite_invoice_nomenclature
        else (_key("Номенклатура_Key", NOMENCLATURE),)
    )  # fmt: skip
    goods = TabularSection(
        "Товары",
        (
            *item, _text("Содержание"), *_DOCUMENT_ROW_AMOUNTS, _number("ПроцентСкидки"), _number("СуммаСкидки"),
            *_VAT_COLUMNS, _text("ИдентификаторСтроки"), _text("ИдентификаторРодительскойСтроки"),
        ),
    )  # fmt: skip
    returnable = TabularSection("ВозвратнаяТара", (_key("Номенклатура_Key", NOMENCLATURE), *_DOCUMENT_ROW_AMOUNTS))
    payment_code = TabularSection("РеквизитыКодаДляОплаты", (_text("Реквизит"), _text("Значение")))
    return EntityType(
        INVOICE_SET,
        (
            *_DOCUMENT_HEAD, _key("Организация_Key", ORGANIZATIONS), _key("Склад_Key"),
            _key("ПодразделениеОрганизации_Key"), _key("Контрагент_Key", COUNTERPARTIES),
            _key("ДоговорКонтрагента_Key", CONTRACTS), _key("ОрганизацияПолучатель_Key", ORGANIZATIONS),
            _key("СтруктурнаяЕдиница_Key"), _key("Ответственный_Key"), _key("ВалютаДокумента_Key", CURRENCIES),
            _key("ТипЦен_Key"), _key("Руководитель_Key"), _key("ГлавныйБухгалтер_Key"),
            _key("ДополнительныеУсловия_Key"), _key("ЗаРуководителяНаОсновании_Key"),
            _key("ЗаГлавногоБухгалтераНаОсновании_Key"), _key("СпособДоставки_Key"), _key("ЗаголовокСчета_Key"),
            _enum("ВидОперации", "ВидыОперацийСчетаПокупателю"), _text("АдресДоставки"),
            _text("АдресДоставкиЗначение"), _text("Комментарий"), _number("КурсВзаиморасчетов"),
            _integer("КратностьВзаиморасчетов"), _number("СуммаСкидки"), _flag("СуммаВключаетНДС"),
            _number("СуммаДокумента"), _flag("ДокументБезНДС"), _text("СсылочныйИдентификатор"),
            *_composite("ДокументОснование"), _text("ВариантПечатиQRКода"),
        ),
        (goods, returnable, payment_code),
        number_length=11,
    )  # fmt: skip


def _sale() -> EntityType:
    """РеализацияТоваровУслуг (onec.md §2.7); its lines are single-typed (`Номенклатура_Key`) in every release."""
    line_tail = (
        _key("СчетДоходов_Key"), *_composite("Субконто"), _key("СчетУчетаНДСПоРеализации_Key"),
        _key("СчетРасходов_Key"), _key("СчетНаОплатуПокупателю_Key", INVOICE_SET),
    )  # fmt: skip
    goods = TabularSection(
        "Товары",
        (
            _key("Номенклатура_Key", NOMENCLATURE), _key("ЕдиницаИзмерения_Key"), _number("Коэффициент"),
            *_DOCUMENT_ROW_AMOUNTS, *_VAT_COLUMNS, _key("СчетУчета_Key"), *line_tail,
        ),
    )  # fmt: skip
    services = TabularSection(
        "Услуги",
        (_key("Номенклатура_Key", NOMENCLATURE), _text("Содержание"), *_DOCUMENT_ROW_AMOUNTS, *_VAT_COLUMNS,
         *line_tail),
    )  # fmt: skip
    return EntityType(
        SALE_SET,
        (
            *_DOCUMENT_HEAD, _enum("ВидОперации", "ВидыОперацийРеализацияТоваров"),
            _key("Организация_Key", ORGANIZATIONS), _key("Склад_Key"), _key("ПодразделениеОрганизации_Key"),
            _key("Контрагент_Key", COUNTERPARTIES), _key("ДоговорКонтрагента_Key", CONTRACTS),
            _text("СпособЗачетаАвансов"), _key("ТипЦен_Key"), _key("ВалютаДокумента_Key", CURRENCIES),
            _number("КурсВзаиморасчетов"), _integer("КратностьВзаиморасчетов"), _flag("СуммаВключаетНДС"),
            _key("СчетУчетаРасчетовСКонтрагентом_Key"), _key("СчетУчетаРасчетовПоАвансам_Key"),
            _key("СчетНаОплатуПокупателю_Key", INVOICE_SET), _key("БанковскийСчетОрганизации_Key"),
            _text("АдресДоставки"), _number("СуммаДокумента"), _flag("ДокументБезНДС"),
            _flag("ЭтоУниверсальныйДокумент"), _key("Ответственный_Key"), _key("Руководитель_Key"),
            _key("ГлавныйБухгалтер_Key"), _text("Комментарий"), _text("НомерВходящегоДокумента"),
        ),
        (goods, services),
        number_length=11,
    )  # fmt: skip


def _tax_invoice() -> EntityType:
    """СчетФактураВыданный (onec.md §2.8), issued «на основании» a sale."""
    return EntityType(
        TAX_INVOICE_SET,
        (
            *_DOCUMENT_HEAD, _enum("ВидСчетаФактуры", "ВидСчетаФактурыВыставленного"),
            _key("Организация_Key", ORGANIZATIONS), _key("Контрагент_Key", COUNTERPARTIES),
            _key("ДоговорКонтрагента_Key", CONTRACTS), *_composite("ДокументОснование", SALE_SET),
            _key("СчетНаОплату_Key", INVOICE_SET), _flag("Исправление"), _integer("НомерИсправления"),
            _text("КодВидаОперации"), _flag("Выставлен"), _date("ДатаВыставления"),
            _integer("КодСпособаВыставления"), _enum("СтавкаНДС", VAT_ENUM), _number("Сумма"), _number("СуммаНДС"),
            _number("СуммаДокумента"), _number("СуммаНДСДокумента"), _key("ВалютаДокумента_Key", CURRENCIES),
            _text("КППКонтрагента"), _text("НомерВходящегоДокумента"), _text("Комментарий"),
        ),
        (TabularSection("ДокументыОснования", _composite("ДокументОснование", SALE_SET)),),
        number_length=12,
    )  # fmt: skip


def entity_types(flavour: OnecFlavour = OnecFlavour.BP_3_0_198) -> dict[str, EntityType]:
    """Every entity set the sandbox can serve, in publication order."""
    types = (
        _COUNTERPARTIES, _NOMENCLATURE, _ORGANIZATIONS, _CONTRACTS, _CURRENCIES,
        _buyer_invoice(flavour), _sale(), _tax_invoice(),
    )  # fmt: skip
    return {entity_type.name: entity_type for entity_type in types}


# ---- $metadata -------------------------------------------------------------------------------------------


@dataclass
class _Xml:
    lines: list[str] = field(default_factory=list)

    def add(self, depth: int, text: str) -> None:
        self.lines.append("  " * depth + text)


def _attributes(**values: str) -> str:
    return "".join(f" {name.replace('__', ':')}={quoteattr(value)}" for name, value in values.items())


def _property(xml: _Xml, depth: int, name: str, edm_type: str, *, nullable: bool = True) -> None:
    xml.add(depth, f"<Property{_attributes(Name=name, Type=edm_type, Nullable=str(nullable).lower())}/>")


def render_metadata(types: Iterable[EntityType], enums: Mapping[str, tuple[str, ...]]) -> str:
    """The EDMX document 1C answers at `<service root>$metadata`, for the given (published) entity types."""
    from local import onec_metadata_links as linked

    published = list(types)
    navigation = linked.links(published)
    xml = _Xml(['<?xml version="1.0" encoding="UTF-8"?>'])
    xml.add(0, '<edmx:Edmx xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" Version="1.0">')
    xml.add(
        1,
        '<edmx:DataServices xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"'
        ' m:DataServiceVersion="3.0" m:MaxDataServiceVersion="3.0">',
    )
    xml.add(2, f'<Schema xmlns="http://schemas.microsoft.com/ado/2009/11/edm"{_attributes(Namespace=NAMESPACE)}>')
    for entity_type in published:
        xml.add(3, f"<EntityType{_attributes(Name=entity_type.name, OpenType='true')}>")
        xml.add(4, '<Key><PropertyRef Name="Ref_Key"/></Key>')
        for prop in entity_type.properties:
            _property(xml, 4, prop.name, prop.type, nullable=prop.name != "Ref_Key")
        for section in entity_type.tabular_sections:
            _property(xml, 4, section.name, f"Collection({NAMESPACE}.{section.row_type(entity_type.name)})")
        linked.navigation_properties(xml.add, _attributes, 4, navigation.get(entity_type.name, []))
        xml.add(3, "</EntityType>")
        linked.section_entity_types(xml.add, _attributes, entity_type, navigation)
    for entity_type in published:
        for section in entity_type.tabular_sections:
            xml.add(3, f"<ComplexType{_attributes(Name=section.row_type(entity_type.name))}>")
            _property(xml, 4, "Ref_Key", Edm.GUID, nullable=False)
            _property(xml, 4, "LineNumber", Edm.INT64, nullable=False)
            for column in section.columns:
                _property(xml, 4, column.name, column.type)
            xml.add(3, "</ComplexType>")
    # 1C publishes enum-typed attributes as Edm.String holding the value name (onec.md §1.5) and lists each
    # enumeration as an EnumType whose members carry a Name only (the real UT $metadata in onec_samples' source);
    # a bridge must still read a missing EnumType as "values unknown" and not block on it.
    for name, members in enums.items():
        xml.add(3, f"<EnumType{_attributes(Name=name)}>")
        for member in members:
            xml.add(4, f"<Member{_attributes(Name=member)}/>")
        xml.add(3, "</EnumType>")
    linked.associations(xml.add, _attributes, navigation)
    xml.add(3, f"<EntityContainer{_attributes(Name=linked.CONTAINER, m__IsDefaultEntityContainer='true')}>")
    for entity_type in published:
        entity = f"{NAMESPACE}.{entity_type.name}"
        xml.add(4, f"<EntitySet{_attributes(Name=entity_type.name, EntityType=entity)}/>")
        linked.section_entity_sets(xml.add, _attributes, entity_type)
    for entity_type in published:
        if not entity_type.is_document:
            continue
        for action in ("Post", "Unpost"):
            xml.add(4, f"<FunctionImport{_attributes(Name=action, IsBindable='true', IsSideEffecting='true')}>")
            xml.add(5, f"<Parameter{_attributes(Name='bindingParameter', Type=f'{NAMESPACE}.{entity_type.name}')}/>")
            xml.add(5, f"<Parameter{_attributes(Name='PostingModeOperational', Type=Edm.BOOLEAN)}/>")
            xml.add(4, "</FunctionImport>")
    xml.add(3, "</EntityContainer>")
    xml.add(2, "</Schema>")
    xml.add(1, "</edmx:DataServices>")
    xml.add(0, "</edmx:Edmx>")
    return "\n".join(xml.lines) + "\n"
