"""The message catalog: complete in both languages, the same fields in both, Russian output free of English, and
money, dates, plural forms and nouns as Russian readers expect them."""

from __future__ import annotations

import re
import string
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from invoice_bridge.events import EntityType
from invoice_bridge.invoice.model import VatRate
from invoice_bridge.messages import NBSP, Language, Money, Msg, Text, format_money, plural, render, t
from invoice_bridge.messages import en as en_catalog
from invoice_bridge.messages import ru as ru_catalog

PLACE = t(Msg.REQUISITE, name="Основной", source=t(Msg.COMPANY_FIRST_REQUISITE, company=14))
ROW = t(Msg.ROW_NAMED, number=2, name="Ноутбук")
REASON = t(Msg.NUMBER_COMMA)
SUM = Money(Decimal("1234567.89"))
VAT_LINES = (
    t(Msg.VAT_LINE, rate=VatRate.VAT22, amount=Money(Decimal("44000"))),
    t(Msg.VAT_LINE, rate=VatRate.VAT10, amount=Money(Decimal("24545.45"))),
    VatRate.WITHOUT_VAT,
)
VAT = t(Msg.VAT_SUMMARY, total=Money(Decimal("68545.45")), lines=VAT_LINES)
LINK = t(Msg.COMMENT_LINK, url="https://1с.пример/бух/#e1cib/data/Документ.СчетНаОплатуПокупателю?ref=0")
DOCUMENT: dict[str, Any] = {
    "entity": EntityType.DEAL,
    "document": t(Msg.DOC_BUYER_INVOICE),
    "number": "0000-000123",
    "date": date(2026, 12, 4),
    "buyer": "Ромашка ООО",
    "total": SUM,
    "vat": VAT,
    "link": LINK,
}

STATUS_DOCUMENT = t(
    Msg.STATUS_DOCUMENT, document=t(Msg.DOC_BUYER_INVOICE), number="БС00-000123", date=date(2026, 12, 4)
)
SALE_DOCUMENT = t(Msg.STATUS_DOCUMENT, document=t(Msg.DOC_SALE), number="0000-000007", date=date(2026, 12, 4))
PAYMENTS = t(
    Msg.STATUS_PAYMENTS,
    payments=(
        t(Msg.STATUS_PAYMENT, number="0000-000045", date=date(2026, 12, 5), amount=Money(Decimal("300000"))),
        t(Msg.STATUS_PAYMENT_UNNUMBERED, date=date(2026, 12, 6), amount=Money(Decimal("14000"))),
    ),
)
PAID = {"document": STATUS_DOCUMENT, "paid": Money(Decimal("314000")), "total": Money(Decimal("514000"))}

# One sample per key: a key without a sample fails `test_every_key_has_a_sample`. Values a manager typed (names,
# codes, values as sent) are Cyrillic or digits here, so any Latin word in Russian output comes from a template.
SAMPLES: dict[Msg, dict[str, Any]] = {
    Msg.ENTITY: {"entity": EntityType.DEAL},
    Msg.ROW: {"number": 3},
    Msg.ROW_NAMED: {"number": 2, "name": "Ноутбук"},
    Msg.PRODUCT: {"product": 101},
    Msg.PRODUCT_ROWS: {},
    Msg.REQUISITE: {"name": "Основной", "source": t(Msg.COMPANY_FIRST_REQUISITE, company=14)},
    Msg.REQUISITE_SELECTED: {"entity": EntityType.INVOICE},
    Msg.COMPANY_FIRST_REQUISITE: {"company": 14},
    Msg.CONTACT_FIRST_REQUISITE: {"contact": 7},
    Msg.NO_BUYER_SOURCE: {},
    Msg.SELLER_REQUISITE: {"name": "Наша фирма", "entity": EntityType.DEAL},
    Msg.SELLER_REQUISITE_ID: {"requisite": 9},
    Msg.FIELD_AMOUNT: {},
    Msg.FIELD_TAX_AMOUNT: {},
    Msg.FIELD_PRICE: {},
    Msg.FIELD_QUANTITY: {},
    Msg.FIELD_PRICE_EXCLUSIVE: {},
    Msg.FIELD_DISCOUNT: {},
    Msg.FIELD_VAT_RATE: {},
    Msg.FIELD_INN: {},
    Msg.FIELD_KPP: {},
    Msg.FIELD_COMPANY_NAME: {},
    Msg.FIELD_PRODUCT_NAME: {},
    Msg.FIELD_STAGE: {},
    Msg.FIELD_TITLE: {},
    Msg.FIELD_LABEL: {"title": t(Msg.FIELD_INN), "code": "RQ_INN"},
    Msg.NUMBER_EMPTY: {},
    Msg.NUMBER_MISSING: {},
    Msg.NUMBER_NOT_A_NUMBER: {},
    Msg.NUMBER_COMMA: {},
    Msg.NUMBER_NOT_FINITE: {},
    Msg.NUMBER_TOO_PRECISE: {"digits": 15},
    Msg.NUMBER_TOO_LARGE: {"digits": 13},
    Msg.NUMBER_TOO_MANY_DECIMALS: {"decimals": 4},
    Msg.NUMBER_NOT_PERCENT: {},
    Msg.INN_EMPTY: {},
    Msg.INN_NOT_DIGITS: {"inn": "７７０７"},
    Msg.INN_LENGTH: {"inn": "123", "digits": 3},
    Msg.INN_STARTS_00: {"inn": "0012345678"},
    Msg.INN_CHECKSUM: {"inn": "7707083894"},
    Msg.INN_INVALID: {"inn": "7707083894"},
    Msg.KPP_EMPTY: {},
    Msg.KPP_FORMAT: {"kpp": "77"},
    Msg.VAT_UNKNOWN_RATE: {"percent": Decimal("12.5")},
    Msg.VAT_20_EXPIRED: {"date": date(2026, 3, 1)},
    Msg.VAT_NOT_VALID: {"percent": Decimal(5), "date": date(2024, 3, 1)},
    Msg.BAD_FIGURE: {"place": ROW, "title": t(Msg.FIELD_PRICE), "field": "PRICE", "value": "1000,50", "reason": REASON},
    Msg.RECORD_NOT_A_RECORD: {"place": PLACE, "value": "[1, 2]"},
    Msg.FIELD_MISSING: {"place": PLACE, "field": "ID"},
    Msg.FIELD_INVALID: {"place": PLACE, "field": "RQ_INN", "value": "[1]"},
    Msg.ROWS_NOT_A_LIST: {"value": "42"},
    Msg.STAGE_UNREADABLE: {"entity": EntityType.DEAL, "detail": (t(Msg.FIELD_MISSING, place=PLACE, field="ID"),)},
    Msg.SELLER_REQUISITE_NOT_FOUND: {"place": t(Msg.SELLER_REQUISITE_ID, requisite=9)},
    Msg.CURRENCY_NOT_CONFIGURED: {"entity": EntityType.DEAL, "currency": "ДОЛ", "supported": "₽"},
    Msg.NO_ROWS: {"entity": EntityType.INVOICE},
    Msg.ROWS_SUM_MISMATCH: {"entity": EntityType.DEAL, "rows_total": SUM, "amount": Money(Decimal("1234567.90"))},
    Msg.NO_BUYER: {"entity": EntityType.DEAL},
    Msg.ROWS_VAT_MISMATCH: {"entity": EntityType.DEAL, "rows_vat": SUM, "tax": Money(Decimal("1234567.90"))},
    Msg.ROWS_MIXED_VAT_MODES: {"entity": EntityType.INVOICE, "rows": (ROW, t(Msg.ROW_NAMED, number=3, name="Сумка"))},
    Msg.INN_HAS_SEPARATORS: {"raw": "7707 083893", "place": PLACE, "inn": "7707083893"},
    Msg.INN_PROBLEM: {"place": PLACE, "problem": t(Msg.INN_CHECKSUM, inn="7707083894")},
    Msg.KPP_PROBLEM: {"place": PLACE, "problem": t(Msg.KPP_EMPTY)},
    Msg.SELLER_NO_INN: {"place": t(Msg.SELLER_REQUISITE, name="Наша фирма", entity=EntityType.DEAL)},
    Msg.ROW_NO_CODE: {"place": ROW, "product": 101},
    Msg.ROW_NO_NAME: {"number": 4},
    Msg.ROW_TAX_INCLUDED: {"place": ROW, "value": "Д"},
    Msg.ROW_QUANTITY_NOT_POSITIVE: {"place": ROW, "quantity": Decimal("-1.5")},
    Msg.ROW_NEGATIVE_PRICE: {"place": ROW, "price": Decimal("-10.00")},
    Msg.ROW_VAT: {"place": ROW, "problem": t(Msg.VAT_20_EXPIRED, date=date(2026, 3, 1))},
    Msg.NO_COUNTERPARTY: {"inn": "500100732259"},
    Msg.NO_COUNTERPARTY_KPP: {"inn": "7707083893", "kpp": "773601001"},
    Msg.NO_ITEM: {"code": "НФ-00012"},
    Msg.ONEC_REFUSED: {"detail": "Поле «Организация» не заполнено"},
    Msg.COMMENT_CREATED: DOCUMENT,
    Msg.COMMENT_CREATED_POSTED: DOCUMENT,
    Msg.COMMENT_UPDATED: DOCUMENT,
    Msg.COMMENT_CHANGED_AFTER_POSTING: {**DOCUMENT, "entity": EntityType.INVOICE},
    Msg.COMMENT_SETUP: {"entity": EntityType.DEAL},
    Msg.COMMENT_WITHDRAWN_DELETION_MARK: {
        "entity": EntityType.DEAL,
        "stage": "ПРОИГРАНА",
        "document": t(Msg.DOC_BUYER_INVOICE),
        "number": "0000-000123",
        "link": "",
    },
    Msg.COMMENT_WITHDRAWN_MARKED: {
        "entity": EntityType.INVOICE,
        "stage": "ЧЕРНОВИК",
        "document": t(Msg.DOC_SALE),
        "number": "0000-000123",
        "link": LINK,
    },
    Msg.PREFLIGHT_READY: {"entity": EntityType.DEAL, "buyer": "Ромашка ООО", "total": SUM, "vat": VAT},
    Msg.PREFLIGHT_PROBLEMS: {
        "entity": EntityType.INVOICE,
        "count": 2,
        "problems": (t(Msg.NO_ROWS, entity=EntityType.INVOICE), t(Msg.NO_ITEM, code="НФ-00012")),
    },
    Msg.DOC_BUYER_INVOICE: {},
    Msg.DOC_SALE: {},
    Msg.VAT_SUMMARY: {"total": Money(Decimal("68545.45")), "lines": VAT_LINES},
    Msg.VAT_LINE: {"rate": VatRate.VAT22, "amount": Money(Decimal("44000"))},
    Msg.VAT_NONE: {},
    Msg.COMMENT_LINK: {"url": "https://1с.пример/бух/#e1cib/data/Документ.СчетНаОплатуПокупателю?ref=0"},
    Msg.PREFLIGHT_VAT_RATE_MISSING: {"number": 1, "rate": VatRate.VAT22},
    Msg.ROW_ITEM_NOT_IN_1C: {"place": ROW, "problem": t(Msg.NO_ITEM, code="НФ-00012")},
    Msg.COMMENT_REJECTED: {
        "entity": EntityType.DEAL,
        "problems": (t(Msg.INN_PROBLEM, place=PLACE, problem=t(Msg.INN_EMPTY)), t(Msg.NO_ROWS, entity=EntityType.DEAL)),
    },
    Msg.STATUS_DOCUMENT: {"document": t(Msg.DOC_BUYER_INVOICE), "number": "БС00-000123", "date": date(2026, 12, 4)},
    Msg.STATUS_DOCUMENT_UNDATED: {"document": t(Msg.DOC_SALE), "number": "0000-000007"},
    Msg.STATUS_PAYMENT: {"number": "0000-000045", "date": date(2026, 12, 5), "amount": Money(Decimal("300000"))},
    Msg.STATUS_PAYMENT_UNNUMBERED: {"date": date(2026, 12, 6), "amount": Money(Decimal("14000"))},
    Msg.STATUS_PAYMENTS: {"payments": PAYMENTS.param("payments")},
    Msg.STATUS_POSTED: {"document": SALE_DOCUMENT, "total": SUM},
    Msg.STATUS_TAX_INVOICE: {"document": SALE_DOCUMENT, "tax_invoice": "0000-000008"},
    Msg.STATUS_PAYMENT_CANCELLED: {**PAID, "amounts": (Money(Decimal("100000")), Money(Decimal("50000")))},
    Msg.STATUS_PAID_IN_PART: {**PAID, "payments": PAYMENTS},
    Msg.STATUS_PAID_IN_FULL: {**PAID, "paid": PAID["total"], "payments": ""},
    Msg.STATUS_UNPOSTED: {"document": STATUS_DOCUMENT},
    Msg.STATUS_CANCELLED: {"document": SALE_DOCUMENT},
    Msg.STATUS_DELETED: {"document": STATUS_DOCUMENT},
    Msg.STATUS_NOT_FOUND: {"document": SALE_DOCUMENT},
    Msg.STATUS_COMMENT: {
        "events": (
            t(Msg.STATUS_POSTED, document=STATUS_DOCUMENT, total=SUM),
            t(Msg.STATUS_PAID_IN_PART, **PAID, payments=PAYMENTS),
        )
    },
    Msg.ONEC_DOCUMENT_COMMENT: {"entity": EntityType.DEAL, "title": "Поставка", "url": "портал/сделка/7"},
    Msg.ONEC_WITHDRAWN_NOTE: {"entity": EntityType.INVOICE, "stage": "ЧЕРНОВИК"},
    Msg.ONEC_COUNTERPARTY_COMMENT: {},
}

# Latin words a Russian text may hold: product names, Bitrix24 REST field codes, the template parameter a manager
# quotes to the administrator, and Y/N as Bitrix24 stores them.
_ALLOWED_LATIN = {"Bitrix24", "OnecCreateCounterparties", "true", "Y", "N"}
_CODE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$|^[A-Z]{2,}$")  # PRICE, TAX_INCLUDED, XML_ID, RQ_INN


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_key_is_in_both_catalogs() -> None:
    assert set(ru_catalog.CATALOG) == set(Msg)
    assert set(en_catalog.CATALOG) == set(Msg)


def test_every_key_has_a_sample() -> None:
    assert set(SAMPLES) == set(Msg)


@pytest.mark.parametrize("key", list(Msg))
def test_both_languages_use_the_same_fields(key: Msg) -> None:
    assert _fields(ru_catalog.CATALOG[key]) == _fields(en_catalog.CATALOG[key])
    assert _fields(ru_catalog.CATALOG[key]) <= set(SAMPLES[key])  # the code may pass more (e.g. the entity)


@pytest.mark.parametrize("key", list(Msg))
@pytest.mark.parametrize("language", list(Language))
def test_every_message_renders(key: Msg, language: Language) -> None:
    text = render(t(key, **SAMPLES[key]), language)
    assert text.strip()
    assert "{" not in text
    assert "}" not in text


def english_words(text: str) -> list[str]:
    """Latin words in a Russian text beyond codes and names; "1C" with a Latin C counts (1С is Cyrillic)."""
    # links, BB-code tags, the deal's key marker in a 1C comment
    text = re.sub(r"https?://[^\s\]]+|\[/?(?:B|LIST|URL|\*)(?:=[^\]]*)?\]|\[b24:[^\]]*\]", "", text)
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z0-9_]*", text) if w not in _ALLOWED_LATIN and not _CODE.match(w)]
    return words + re.findall(r"1C\b", text)


@pytest.mark.parametrize("key", list(Msg))
def test_no_english_in_russian(key: Msg) -> None:
    text = render(t(key, **SAMPLES[key]), Language.RU)
    assert not english_words(text), (key, text)


def test_the_leak_check_catches_an_english_word(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ru_catalog.CATALOG, Msg.NO_ROWS, "в {entity:prep} no product rows")
    with pytest.raises(AssertionError):
        test_no_english_in_russian(Msg.NO_ROWS)


def test_a_missing_key_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(ru_catalog.CATALOG, Msg.NO_ROWS)
    with pytest.raises(AssertionError):
        test_every_key_is_in_both_catalogs()
    with pytest.raises(KeyError):
        render(t(Msg.NO_ROWS, entity=EntityType.DEAL), Language.RU)


def test_a_missing_parameter_fails() -> None:
    with pytest.raises(KeyError, match="entity"):
        render(t(Msg.NO_ROWS), Language.RU)


def test_money_as_people_write_it() -> None:
    assert format_money(SUM, Language.RU) == f"1{NBSP}234{NBSP}567,89{NBSP}₽"
    assert format_money(Money(Decimal("0.5")), Language.RU) == f"0,50{NBSP}₽"
    assert format_money(Money(Decimal(999)), Language.RU) == f"999,00{NBSP}₽"
    assert format_money(Money(Decimal(-1234)), Language.RU) == f"-1{NBSP}234,00{NBSP}₽"
    assert format_money(SUM, Language.EN) == f"1,234,567.89{NBSP}RUB"
    assert format_money(Money(Decimal(10), "840"), Language.RU) == f"10,00{NBSP}840"


@pytest.mark.parametrize(
    ("count", "form"),
    [
        (1, "позиция"),
        (2, "позиции"),
        (4, "позиции"),
        (5, "позиций"),
        (11, "позиций"),
        (12, "позиций"),
        (14, "позиций"),
        (21, "позиция"),
        (22, "позиции"),
        (25, "позиций"),
        (111, "позиций"),
        (101, "позиция"),
        (0, "позиций"),
    ],
)
def test_russian_plural_forms(count: int, form: str) -> None:
    assert plural(count, ("позиция", "позиции", "позиций"), Language.RU) == form


def test_english_plural_forms() -> None:
    assert plural(1, ("row", "rows"), Language.EN) == "row"
    assert plural(2, ("row", "rows"), Language.EN) == "rows"


def test_plural_in_a_template() -> None:
    assert render(t(Msg.INN_LENGTH, inn="1", digits=1), Language.RU).startswith("«1» — 1 цифра,")
    assert render(t(Msg.INN_LENGTH, inn="123", digits=3), Language.RU).startswith("«123» — 3 цифры,")
    assert render(t(Msg.INN_LENGTH, inn="12345", digits=5), Language.RU).startswith("«12345» — 5 цифр,")


def test_dates_are_dd_mm_yyyy() -> None:
    assert "04.12.2026" in render(t(Msg.COMMENT_CREATED, **SAMPLES[Msg.COMMENT_CREATED]), Language.RU)
    assert "04.12.2026" in render(t(Msg.COMMENT_CREATED, **SAMPLES[Msg.COMMENT_CREATED]), Language.EN)


def test_the_noun_and_its_verb_follow_the_entity() -> None:
    sample = SAMPLES[Msg.COMMENT_UPDATED]
    deal = render(t(Msg.COMMENT_UPDATED, **{**sample, "entity": EntityType.DEAL}), Language.RU)
    invoice = render(t(Msg.COMMENT_UPDATED, **{**sample, "entity": EntityType.INVOICE}), Language.RU)
    assert deal.startswith("Сделка изменилась — ")
    assert invoice.startswith("Счёт изменился — ")
    rejected = {
        entity: render(t(Msg.COMMENT_REJECTED, entity=entity, problems=()), Language.RU) for entity in EntityType
    }
    assert "сохраните сделку ещё раз" in rejected[EntityType.DEAL]
    assert "сохраните счёт ещё раз" in rejected[EntityType.INVOICE]
    setup = render(t(Msg.COMMENT_SETUP, entity=EntityType.INVOICE), Language.RU)
    assert "для этого счёта" in setup
    assert "в счёте ничего" in setup


def test_decimals_use_the_languages_separator() -> None:
    problem = t(Msg.ROW_QUANTITY_NOT_POSITIVE, place=ROW, quantity=Decimal("-1.5"))
    assert "-1,5" in render(problem, Language.RU)
    assert "-1.5" in render(problem, Language.EN)


def test_values_as_sent_are_untouched() -> None:
    problem = t(Msg.BAD_FIGURE, **SAMPLES[Msg.BAD_FIGURE])
    assert "«1000,50»" in render(problem, Language.RU)
    assert "«1000,50»" in render(problem, Language.EN)


def test_the_numbered_list_starts_each_reason_with_a_capital() -> None:
    text = render(t(Msg.COMMENT_REJECTED, **SAMPLES[Msg.COMMENT_REJECTED]), Language.RU)
    assert ":\n[LIST=1]\n[*]Реквизит «Основной» (первый реквизит компании 14), поле «ИНН»: не заполнен" in text
    assert "\n[*]В сделке нет товаров" in text
    assert text.endswith("\n[/LIST]")


def test_a_persons_text_cannot_open_bb_code_tags() -> None:
    row = t(Msg.ROW_NAMED, number=1, name="[B]Ноутбук[/B] [URL=http://x]y[/URL] [1] [*]")
    assert render(row, Language.RU) == "товар №1 «［B]Ноутбук［/B] ［URL=http://x]y［/URL] [1] ［*]»"


def test_the_vat_summary_names_the_rates_as_1c_does() -> None:
    assert render(VAT, Language.RU) == (
        f"НДС: 68{NBSP}545,45{NBSP}₽ (НДС 22 % — 44{NBSP}000,00{NBSP}₽; НДС 10 % — 24{NBSP}545,45{NBSP}₽; Без НДС)"
    )
    assert render(t(Msg.VAT_NONE), Language.RU) == "Без НДС"


def test_the_preflight_counts_what_to_fix() -> None:
    sample = SAMPLES[Msg.PREFLIGHT_PROBLEMS]
    for count, words in ((1, "1 замечание"), (2, "2 замечания"), (5, "5 замечаний")):
        text = render(t(Msg.PREFLIGHT_PROBLEMS, **{**sample, "count": count}), Language.RU)
        assert text.startswith(f"[B]Проверка перед выставлением счёта: исправьте {words}[/B]")


def test_a_text_code_is_the_key_and_its_english_words() -> None:
    problem: Text = t(Msg.INN_PROBLEM, place=PLACE, problem=t(Msg.INN_CHECKSUM, inn="7707083894"))
    assert problem.code.startswith("inn_problem: INN in requisite «Основной» (the first requisite of company 14)")
    assert str(problem) == render(problem, Language.EN)


def test_the_participle_follows_the_document_kind() -> None:
    invoice, sale = t(Msg.DOC_BUYER_INVOICE), t(Msg.DOC_SALE)
    expected = {
        Msg.STATUS_POSTED: ("проведён", "проведена"),
        Msg.STATUS_PAID_IN_PART: ("оплачен частично", "оплачена частично"),
        Msg.STATUS_PAID_IN_FULL: ("оплачен полностью", "оплачена полностью"),
        Msg.STATUS_CANCELLED: ("отменён в 1С", "отменена в 1С"),
        Msg.STATUS_DELETED: ("помечен на удаление", "помечена на удаление"),
        Msg.STATUS_NOT_FOUND: ("не найден в", "не найдена в"),
    }
    for key, (masculine, feminine) in expected.items():
        sample = SAMPLES[key]
        for kind, words, wrong in ((invoice, masculine, feminine), (sale, feminine, masculine)):
            document = t(Msg.STATUS_DOCUMENT, document=kind, number="1", date=date(2026, 12, 4))
            text = render(t(key, **{**sample, "document": document}), Language.RU)
            assert f" {words}" in text, (key, text)
            assert f" {wrong}" not in text, (key, text)


def test_a_status_comment_is_a_line_per_event_each_a_sentence() -> None:
    text = render(t(Msg.STATUS_COMMENT, **SAMPLES[Msg.STATUS_COMMENT]), Language.EN)
    posted, paid = text.split("\n")
    assert posted.startswith("[B]Buyer invoice БС00-000123 of 04.12.2026[/B] for 1,234,567.89")
    assert paid == (
        f"[B]Buyer invoice БС00-000123 of 04.12.2026[/B] was paid in part: 314,000.00{NBSP}RUB of 514,000.00{NBSP}RUB "
        f"(payment 0000-000045 of 05.12.2026 for 300,000.00{NBSP}RUB; payment of 06.12.2026 for 14,000.00{NBSP}RUB)."
    )
