"""The BP 3.0 releases the 1C sandbox imitates ("flavours") and the enumerations each knows: buyer-invoice line
shapes and the VAT rates by release (onec.md §1.12, §2.10).
"""

from __future__ import annotations

from enum import Enum

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
