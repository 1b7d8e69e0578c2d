"""Русские тексты (по умолчанию). Термины — как в 1С:Бухгалтерии и в карточках Bitrix24; в скобках — имена
полей REST Bitrix24, чтобы администратор нашёл поле. «1С» — с кириллической «С»."""

from __future__ import annotations

from invoice_bridge.messages.keys import Msg

CATALOG: dict[Msg, str] = {
    Msg.ENTITY: "{entity:nom}",
    Msg.ROW: "товар №{number}",
    Msg.ROW_NAMED: "товар №{number} «{name:raw}»",
    Msg.PRODUCT: "товар каталога {product}",
    Msg.PRODUCT_ROWS: "товары",
    Msg.REQUISITE: "реквизит «{name:raw}» ({source})",
    Msg.REQUISITE_SELECTED: "реквизит, выбранный в {entity:prep}",
    Msg.COMPANY_FIRST_REQUISITE: "первый реквизит компании {company}",
    Msg.CONTACT_FIRST_REQUISITE: "первый реквизит контакта {contact}",
    Msg.NO_BUYER_SOURCE: "покупатель не указан",
    Msg.SELLER_REQUISITE: "реквизит продавца «{name:raw}» (ваша компания, выбранная в {entity:prep})",
    Msg.SELLER_REQUISITE_ID: "реквизит продавца {requisite} (реквизит «Моей компании», выбранный в карточке)",
    Msg.FIELD_AMOUNT: "Сумма",
    Msg.FIELD_TAX_AMOUNT: "Сумма налога",
    Msg.FIELD_PRICE: "Цена",
    Msg.FIELD_QUANTITY: "Количество",
    Msg.FIELD_PRICE_EXCLUSIVE: "Цена без налога",
    Msg.FIELD_DISCOUNT: "Скидка",
    Msg.FIELD_VAT_RATE: "Ставка НДС",
    Msg.FIELD_INN: "ИНН",
    Msg.FIELD_KPP: "КПП",
    Msg.FIELD_COMPANY_NAME: "Сокращённое наименование",
    Msg.FIELD_PRODUCT_NAME: "Товар",
    Msg.FIELD_STAGE: "Стадия",
    Msg.FIELD_TITLE: "Название",
    Msg.FIELD_LABEL: "«{title}» ({code:raw})",
    Msg.NUMBER_EMPTY: "не заполнено",
    Msg.NUMBER_MISSING: "отсутствует",
    Msg.NUMBER_NOT_A_NUMBER: "не число",
    Msg.NUMBER_COMMA: "не число (запятая вместо точки?)",
    Msg.NUMBER_NOT_FINITE: "не конечное число",
    Msg.NUMBER_TOO_PRECISE: "больше {digits:p(значащей цифры|значащих цифр|значащих цифр)}",
    Msg.NUMBER_TOO_LARGE: "слишком большое число (больше {digits:p(цифры|цифр|цифр)} до запятой)",
    Msg.NUMBER_TOO_MANY_DECIMALS: "больше {decimals:p(знака|знаков|знаков)} после запятой",
    Msg.NUMBER_NOT_PERCENT: "не от 0 до 100",
    Msg.INN_EMPTY: "не заполнен; укажите ИНН покупателя (10 цифр у организации, 12 — у индивидуального предпринимателя)",
    Msg.INN_NOT_DIGITS: "«{inn:raw}» содержит символы, кроме цифр 0–9",
    Msg.INN_LENGTH: "«{inn:raw}» — {digits:p(цифра|цифры|цифр)}, а нужно 10 (организация) или 12 (ИП)",
    Msg.INN_STARTS_00: "«{inn:raw}» начинается с 00, а так не начинается код ни одной налоговой инспекции",
    Msg.INN_CHECKSUM: (
        "«{inn:raw}» — неверная контрольная цифра, вероятно, опечатка; сверьте ИНН с документами компании"
    ),
    Msg.INN_INVALID: "«{inn:raw}» — недействительный ИНН",
    Msg.KPP_EMPTY: "не заполнен; организации (ИНН из 10 цифр) нужен КПП из 9 символов",
    Msg.KPP_FORMAT: (
        "«{kpp:raw}» — не КПП: нужно 9 символов — 4 цифры, 2 цифры или заглавные латинские буквы, 3 цифры"
    ),
    Msg.VAT_UNKNOWN_RATE: "ставки НДС {percent} % в России нет: выберите 22, 10, 7, 5, 0 % или «Без НДС»",
    Msg.VAT_20_EXPIRED: "НДС 20 % не действует на {date}: с 01.01.2026 общая ставка — НДС 22 %",
    Msg.VAT_NOT_VALID: "ставка НДС {percent} % не действует на {date}",
    Msg.BAD_FIGURE: "{place}, поле «{title}» ({field:raw}): значение «{value:raw}» — {reason}",
    Msg.RECORD_NOT_A_RECORD: "{place}: Bitrix24 прислал {value:raw} вместо записи",
    Msg.FIELD_MISSING: "{place}: нет поля {field}",
    Msg.FIELD_INVALID: "{place}: недопустимое значение поля {field} — «{value:raw}»",
    Msg.ROWS_NOT_A_LIST: "товары: Bitrix24 прислал {value:raw} вместо списка",
    Msg.STAGE_UNREADABLE: "Bitrix24 прислал стадию {entity:gen} в виде, который мост не может прочитать ({detail})",
    Msg.SELLER_REQUISITE_NOT_FOUND: (
        "{place} не найден в Bitrix24; выберите реквизит вашей компании в карточке ещё раз"
    ),
    Msg.CURRENCY_NOT_CONFIGURED: (
        "валюта {entity:gen} «{currency:raw}» не поддерживается: счета выставляются только в валюте {supported:raw}"
    ),
    Msg.NO_ROWS: "в {entity:prep} нет товаров; добавьте товары или услуги, которые продаёте",
    Msg.ROWS_SUM_MISMATCH: (
        "сумма товаров {rows_total} не равна сумме {entity:gen} {amount}; откройте товары {entity:gen} и "
        "сохраните их ещё раз, чтобы сумма пересчиталась"
    ),
    Msg.ROWS_VAT_MISMATCH: (
        "НДС товаров {rows_vat} не равен сумме налога {entity:gen} {tax}; откройте товары {entity:gen} и сохраните "
        "их ещё раз, чтобы налог пересчитался, или проверьте настройки налогов портала (налоги по местоположению "
        "не поддерживаются)"
    ),
    Msg.ROWS_MIXED_VAT_MODES: (
        "{rows}: 1С изменила бы сумму, потому что в {entity:prep} есть и товары с НДС в цене, и товары с НДС сверху, "
        "а при таком количестве никакая цена в копейках не даёт сумму строки; сделайте, чтобы во всех товарах НДС "
        "был либо в цене, либо сверху"
    ),
    Msg.NO_BUYER: (
        "в {entity:prep} нет покупателя с реквизитами: выберите компанию в {entity:prep} и заполните её "
        "реквизиты (ИНН, КПП)"
    ),
    Msg.INN_HAS_SEPARATORS: "{place}, поле «ИНН»: «{raw:raw}» содержит пробелы или дефисы; запишите его как {inn:raw}",
    Msg.INN_PROBLEM: "{place}, поле «ИНН»: {problem}",
    Msg.KPP_PROBLEM: "{place}, поле «КПП»: {problem}",
    Msg.SELLER_NO_INN: "{place}: не заполнен ИНН; укажите в нём ИНН вашей компании или выберите другой реквизит",
    Msg.ROW_NO_CODE: (
        "{place}: у товара {product} в каталоге нет внешнего кода (XML_ID), по которому его найти в 1С; "
        "загрузите каталог из 1С или укажите во внешнем коде товара код номенклатуры 1С"
    ),
    Msg.ROW_NO_NAME: "товар №{number}: не выбран товар из каталога и нет названия; опишите услугу",
    Msg.ROW_TAX_INCLUDED: "{place}, поле «Налог включён в цену» (TAX_INCLUDED): «{value:raw}» — ни Y, ни N",
    Msg.ROW_QUANTITY_NOT_POSITIVE: "{place}: количество {quantity}, а должно быть больше нуля",
    Msg.ROW_NEGATIVE_PRICE: "{place}: отрицательная цена {price}",
    Msg.ROW_VAT: "{place}: {problem}",
    Msg.ROW_ITEM_NOT_IN_1C: "{place}: {problem}",
    Msg.NO_COUNTERPARTY: (
        "в 1С нет контрагента с ИНН {inn:raw}; попросите бухгалтера создать его в 1С (Справочники → Контрагенты) "
        "или администратора — разрешить мосту создавать контрагентов (OnecCreateCounterparties=true)"
    ),
    Msg.NO_COUNTERPARTY_KPP: (
        "в 1С нет контрагента с ИНН {inn:raw} и КПП {kpp:raw}; попросите бухгалтера создать его в 1С "
        "(Справочники → Контрагенты) или администратора — разрешить мосту создавать контрагентов "
        "(OnecCreateCounterparties=true)"
    ),
    Msg.NO_ITEM: (
        "в 1С нет номенклатуры с кодом «{code:raw}»: загрузите каталог из 1С или укажите во внешнем коде товара "
        "(XML_ID) код номенклатуры 1С"
    ),
    Msg.ONEC_REFUSED: "1С не приняла счёт: {detail:raw}",
    Msg.COMMENT_CREATED: (
        "В 1С создан черновик [B]{document} № {number:raw} от {date}[/B] — бухгалтер проверит и проведёт его.\n"
        "[LIST]\n[*]Покупатель: {buyer:raw}\n[*]Сумма: [B]{total}[/B]\n[*]{vat}\n[/LIST]{link}"
    ),
    Msg.COMMENT_UPDATED: (
        "{entity:Nom} {entity:g(изменилась|изменился)} — в 1С обновлён черновик [B]{document} № {number:raw} от "
        "{date}[/B].\n[LIST]\n[*]Покупатель: {buyer:raw}\n[*]Сумма: [B]{total}[/B]\n[*]{vat}\n[/LIST]{link}"
    ),
    Msg.COMMENT_CHANGED_AFTER_POSTING: (
        "{entity:Nom} {entity:g(изменилась|изменился)} после того, как документ [B]{document} № "
        "{number:raw} от {date}[/B] проведён в 1С; мост его не менял.\n[LIST]\n[*]Сумма {entity:gen} теперь: [B]{total}[/B]\n"
        "[*]{vat}\n[/LIST]\nПопросите бухгалтера исправить документ.{link}"
    ),
    Msg.COMMENT_SETUP: (
        "[B]Мост не может создать счёт в 1С для {entity:g(этой|этого)} {entity:gen}[/B]: 1С требует внимания "
        "администратора, он уже оповещён. Счёт будет создан сам, как только это исправят; в {entity:prep} ничего "
        "менять не нужно."
    ),
    Msg.COMMENT_WITHDRAWN_DELETION_MARK: (
        "{entity:Nom} {entity:g(вышла|вышел)} из стадии выставления счёта (сейчас {stage:raw}). "
        "Документ 1С [B]{document} № {number:raw}[/B] помечен на удаление. Если он уже проведён, попросите "
        "бухгалтера отменить проведение.{link}"
    ),
    Msg.COMMENT_WITHDRAWN_MARKED: (
        "{entity:Nom} {entity:g(вышла|вышел)} из стадии выставления счёта (сейчас {stage:raw}). "
        "Документ 1С [B]{document} № {number:raw}[/B] отмечен как отозванный. Если он уже проведён, попросите "
        "бухгалтера отменить проведение.{link}"
    ),
    Msg.COMMENT_REJECTED: (
        "[B]Черновик счёта в 1С не создан.[/B] Исправьте и сохраните {entity:acc} ещё раз:\n{problems:list}"
    ),
    Msg.DOC_BUYER_INVOICE: "Счёт на оплату покупателю",
    Msg.DOC_SALE: "Реализация (акт, накладная, УПД)",
    Msg.VAT_SUMMARY: "НДС: {total} ({lines})",
    Msg.VAT_LINE: "{rate} — {amount}",
    Msg.VAT_NONE: "Без НДС",
    Msg.COMMENT_LINK: "\n[URL={url:raw}]Открыть в 1С[/URL]",
    Msg.PREFLIGHT_VAT_RATE_MISSING: (
        "товар №{number}: в 1С нет ставки «{rate}» — эта версия 1С:Бухгалтерии её не знает; сообщите администратору 1С"
    ),
    Msg.COMMENT_CREATED_POSTED: (
        "В 1С создан и проведён документ [B]{document} № {number:raw} от {date}[/B].\n"
        "[LIST]\n[*]Покупатель: {buyer:raw}\n[*]Сумма: [B]{total}[/B]\n[*]{vat}\n[/LIST]{link}"
    ),
    Msg.PREFLIGHT_READY: (
        "[B]Проверка перед выставлением счёта пройдена[/B] — всё готово.\n[LIST]\n[*]Покупатель: {buyer:raw}\n"
        "[*]Сумма: [B]{total}[/B]\n[*]{vat}\n[/LIST]\nПереведите {entity:acc} на стадию выставления счёта — "
        "черновик в 1С создастся сам."
    ),
    Msg.PREFLIGHT_PROBLEMS: (
        "[B]Проверка перед выставлением счёта: исправьте {count:p(замечание|замечания|замечаний)}[/B]\n"
        "{problems:list}\nСохраните {entity:acc} — проверка повторится."
    ),
    # --- статусы документа в 1С (синхронизация статусов); причастие согласуется с видом документа ---
    Msg.STATUS_COMMENT: "{events:lines}",
    Msg.STATUS_DOCUMENT: "{document} № {number:raw} от {date}",
    Msg.STATUS_DOCUMENT_UNDATED: "{document} № {number:raw}",
    Msg.STATUS_PAYMENT: "платёж № {number:raw} от {date} на {amount}",
    Msg.STATUS_PAYMENT_UNNUMBERED: "платёж от {date} на {amount}",
    Msg.STATUS_PAYMENTS: " ({payments})",
    Msg.STATUS_POSTED: "[B]{document}[/B] на {total} {document:g(проведена|проведён)} бухгалтером в 1С.",
    Msg.STATUS_TAX_INVOICE: "По документу [B]{document}[/B] выставлен счёт-фактура № {tax_invoice:raw}.",
    Msg.STATUS_PAYMENT_CANCELLED: (
        "В 1С отменена оплата по документу [B]{document}[/B] ({amounts}); оплачено {paid} из {total}."
    ),
    Msg.STATUS_PAID_IN_PART: "[B]{document}[/B] {document:g(оплачена|оплачен)} частично: {paid} из {total}{payments}.",
    Msg.STATUS_PAID_IN_FULL: "[B]{document}[/B] {document:g(оплачена|оплачен)} полностью: {paid} из {total}{payments}.",
    Msg.STATUS_UNPOSTED: "[B]{document}[/B]: бухгалтер отменил проведение в 1С.",
    Msg.STATUS_CANCELLED: "[B]{document}[/B] {document:g(отменена|отменён)} в 1С (статус «Отменен»).",
    Msg.STATUS_DELETED: "[B]{document}[/B] {document:g(помечена|помечен)} на удаление в 1С.",
    Msg.STATUS_NOT_FOUND: "[B]{document}[/B] больше не {document:g(найдена|найден)} в 1С.",
    Msg.ONEC_DOCUMENT_COMMENT: (
        "Черновик из Bitrix24, ожидает проверки бухгалтером. {entity:Nom} «{title:raw}» {url:raw}"
    ),
    Msg.ONEC_WITHDRAWN_NOTE: "ОТОЗВАН: {entity:nom} {entity:g(вышла|вышел)} из стадии счёта (сейчас {stage:raw}).",
    Msg.ONEC_COUNTERPARTY_COMMENT: "Создан мостом Bitrix24 → 1С",
}
