"""A text to be rendered (a catalog key with its parameters) and the rendering in one language.

Parameters keep their types until rendering, where the language decides their look: `Money` as people write it,
dates dd.mm.yyyy, decimals with the language's separator, an `EntityType` as the noun in the case the template
asks for, counts with the plural form, nested `Text`s rendered in the same language.

Template directives (after the colon of a `{field:...}`):
- `{entity:gen}` (nom, gen, dat, acc, ins, prep; `Nom`… capitalised): the entity's noun in that case;
- `{entity:g(вышла|вышел)}`: the form that agrees with the entity's gender (feminine | masculine); a document's
  `Text` (`{document:g(проведена|проведён)}`) agrees with the document's kind (a `document` param, to any depth):
  Реализация is feminine, Счёт на оплату покупателю masculine;
- `{count:p(позиция|позиции|позиций)}`: the count and its plural form (ru: one | few | many; en: one | other);
- `{problems:numbered}`: a sequence of texts as a numbered list, one a line (plain text);
- `{problems:list}`: the same as a Bitrix24 BB-code numbered list (`[LIST=1][*]…[/LIST]`);
- `{lines:items}`: a sequence of texts as BB-code list items (`[*]…`), for a list the template opens and closes;
- `{events:lines}`: a sequence of texts, each a sentence on its own line;
- `{value:raw}`: the value as text, untouched (a code, a value as Bitrix24 sent it).

Text a person typed (a title, a product name, a value as sent) cannot open BB-code tags of its own in a Bitrix24
comment: the `[` of anything that looks like a tag becomes a fullwidth `［` (`bb_safe`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from invoice_bridge.events import EntityType
from invoice_bridge.invoice.model import VatRate
from invoice_bridge.messages import en, ru
from invoice_bridge.messages.keys import Msg


class Language(StrEnum):
    RU = "ru"
    EN = "en"


CATALOGS: dict[Language, dict[Msg, str]] = {Language.RU: ru.CATALOG, Language.EN: en.CATALOG}


@dataclass(frozen=True)
class Text:
    """A catalog key and its parameters: what the bridge means, before it is put in words."""

    key: Msg
    params: tuple[tuple[str, Any], ...] = ()

    def param(self, name: str) -> Any:
        return dict(self.params).get(name)

    @property
    def code(self) -> str:
        """Machine-readable and stable across languages: the key, then the English rendering."""
        return f"{self.key.value}: {render(self, Language.EN)}"

    def __str__(self) -> str:
        return render(self, Language.EN)


def t(key: Msg, /, **params: Any) -> Text:
    return Text(key, tuple(params.items()))


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency_code: str = "643"  # ISO 4217 numeric, as 1C's Catalog_Валюты.Code


_CURRENCY_SIGNS = {Language.RU: {"643": "₽"}, Language.EN: {"643": "RUB"}}
NBSP = "\u00a0"  # no-break space: CLDR's ru group separator, and what keeps «1 234,00 ₽» on one line
_NOUNS: dict[Language, dict[EntityType, dict[str, str]]] = {
    Language.RU: {
        EntityType.DEAL: {
            "nom": "сделка",
            "gen": "сделки",
            "dat": "сделке",
            "acc": "сделку",
            "ins": "сделкой",
            "prep": "сделке",
        },
        EntityType.INVOICE: {
            "nom": "счёт",
            "gen": "счёта",
            "dat": "счёту",
            "acc": "счёт",
            "ins": "счётом",
            "prep": "счёте",
        },
    },
    Language.EN: {
        entity: dict.fromkeys(("nom", "gen", "dat", "acc", "ins", "prep"), entity.value) for entity in EntityType
    },
}
_FEMININE = {EntityType.DEAL}
_FEMININE_DOCUMENTS = {Msg.DOC_SALE}  # Реализация (акт, накладная, УПД); Счёт на оплату покупателю is masculine
# as 1C:Бухгалтерия names the rates (Перечисление.СтавкиНДС), with the space before % Russian typography wants
_VAT_NAMES: dict[Language, dict[VatRate, str]] = {
    Language.RU: {
        VatRate.VAT22: "НДС 22 %",
        VatRate.VAT20: "НДС 20 %",
        VatRate.VAT10: "НДС 10 %",
        VatRate.VAT7: "НДС 7 %",
        VatRate.VAT5: "НДС 5 %",
        VatRate.VAT0: "НДС 0 %",
        VatRate.WITHOUT_VAT: "Без НДС",
    },
    Language.EN: {
        VatRate.VAT22: "VAT 22 %",
        VatRate.VAT20: "VAT 20 %",
        VatRate.VAT10: "VAT 10 %",
        VatRate.VAT7: "VAT 7 %",
        VatRate.VAT5: "VAT 5 %",
        VatRate.VAT0: "VAT 0 %",
        VatRate.WITHOUT_VAT: "without VAT",
    },
}
# BB-code tags Bitrix24 renders in comments; a person's text must not open one
_BB_TAG = re.compile(
    r"\[(?=/?(?:\*|(?:b|i|u|s|url|list|img|quote|code|color|size|font|user|table|tr|td|th|disk|video|p|left|right|center"
    r"|justify)\b))",
    re.IGNORECASE,
)
_LEADING_TAGS = re.compile(r"(?:\[/?(?:B|I|U|S)\])+", re.IGNORECASE)
_CHOICE = re.compile(r"^([gp])\((.*)\)$")


def format_money(money: Money, language: Language) -> str:
    """1 234 567,89 ₽ (ru: no-break spaces between thousands and before the sign) or 1,234,567.89 RUB (en)."""
    sign = _CURRENCY_SIGNS[language].get(money.currency_code, money.currency_code)
    number = f"{money.amount:,.2f}"
    if language is Language.RU:
        number = number.replace(",", NBSP).replace(".", ",")
    return f"{number}{NBSP}{sign}"


def bb_safe(text: str) -> str:
    return _BB_TAG.sub("［", text)


def format_decimal(value: Decimal, language: Language) -> str:
    text = f"{value:f}"
    return text.replace(".", ",") if language is Language.RU else text


def format_date(value: date) -> str:
    return f"{value:%d.%m.%Y}"


def plural(count: int, forms: Sequence[str], language: Language) -> str:
    """The form for `count`: ru one | few | many (1 позиция, 2 позиции, 5 позиций, 11 позиций, 21 позиция)."""
    if language is Language.EN:
        return forms[0] if count == 1 else forms[-1]
    tens, ones = count % 100, count % 10
    if ones == 1 and tens != 11:
        return forms[0]
    if 2 <= ones <= 4 and not 12 <= tens <= 14:
        return forms[1]
    return forms[2]


def noun(entity: EntityType, case: str, language: Language) -> str:
    word = _NOUNS[language][entity][case.lower()]
    return word[:1].upper() + word[1:] if case[:1].isupper() else word


class _Formatter(string.Formatter):
    def __init__(self, language: Language) -> None:
        self.language = language

    def format_field(self, value: Any, format_spec: str) -> str:
        language = self.language
        if format_spec == "raw":
            return self._value(value) if isinstance(value, Text) else bb_safe(str(value))
        if (choice := _CHOICE.match(format_spec)) is not None:
            kind, forms = choice.group(1), choice.group(2).split("|")
            if kind == "g":
                return forms[0] if _feminine(value) or language is Language.EN else forms[-1]
            return f"{self._value(value)} {plural(int(value), forms, language)}"
        if format_spec == "numbered":
            return "\n".join(f"{index}. {capitalised(self._value(item))}" for index, item in enumerate(value, 1))
        if format_spec == "lines":
            return "\n".join(capitalised(self._value(item)) for item in value)
        if format_spec == "items":
            return "\n".join(f"[*]{capitalised(self._value(item))}" for item in value)
        if format_spec == "list":
            return "[LIST=1]\n" + self.format_field(value, "items") + "\n[/LIST]"
        if isinstance(value, EntityType):
            return noun(value, format_spec or "nom", language)
        return self._value(value)

    def _value(self, value: Any) -> str:
        language = self.language
        if isinstance(value, Text):
            return render(value, language)
        if isinstance(value, VatRate):
            return _VAT_NAMES[language][value]
        if isinstance(value, Money):
            return format_money(value, language)
        if isinstance(value, datetime):
            return format_date(value.date())
        if isinstance(value, date):
            return format_date(value)
        if isinstance(value, Decimal):
            return format_decimal(value, language)
        if isinstance(value, EntityType):
            return noun(value, "nom", language)
        if isinstance(value, tuple | list):
            return "; ".join(self._value(item) for item in value)
        return bb_safe(str(value))


def _feminine(value: Any) -> bool:
    if isinstance(value, Text):
        return value.key in _FEMININE_DOCUMENTS or _feminine(value.param("document"))
    return value in _FEMININE


def capitalised(text: str) -> str:
    """The first letter upper-cased, after any BB-code tags the text opens with (`[B]buyer invoice` → `[B]Buyer…`)."""
    start = _LEADING_TAGS.match(text)
    at = start.end() if start is not None else 0
    return text[:at] + text[at : at + 1].upper() + text[at + 1 :]


def render(text: Text, language: Language) -> str:
    return _Formatter(language).vformat(CATALOGS[language][text.key], (), _Params(text.params))


class _Params(Mapping[str, Any]):
    """Template fields by name; a field the text lacks fails loudly (a KeyError naming it)."""

    def __init__(self, params: tuple[tuple[str, Any], ...]) -> None:
        self._params = dict(params)

    def __getitem__(self, name: str) -> Any:
        return self._params[name]

    def __iter__(self) -> Any:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)
