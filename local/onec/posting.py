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

The catalogs these checks refer to are in :mod:`local.onec.catalogs` and their rows in :mod:`local.onec.base`
(``AccountingSetUp`` leaves each out to show what the bridge says then). ``/Post`` and ``/Unpost`` themselves are
:func:`call_action`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from local.onec.catalogs import ACCOUNTS, BANK_ACCOUNTS
from local.onec.model import (
    EMPTY_DATE,
    INVOICE_SET,
    NOMENCLATURE,
    SALE_SET,
    TAX_INVOICE_SET,
    ZERO_GUID,
)
from local.onec.protocol import ODataError, Request, Response, action_name
from local.onec.store import Store

if TYPE_CHECKING:
    from local.onec.base import AccountingSetUp

SALE_HEADER_ACCOUNTS = {"СчетУчетаРасчетовСКонтрагентом_Key": "62.01", "СчетУчетаРасчетовПоАвансам_Key": "62.02"}
SALE_LINE_ACCOUNTS = {
    "СчетУчета_Key": "41.01",
    "СчетДоходов_Key": "90.01.1",
    "СчетРасходов_Key": "90.02.1",
    "СчетУчетаНДСПоРеализации_Key": "90.03",
}
SERVICE_LINE_ACCOUNTS = {name: code for name, code in SALE_LINE_ACCOUNTS.items() if name != "СчетУчета_Key"}

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


def _empty(value: Any) -> bool:
    return value in (None, "", ZERO_GUID, EMPTY_DATE) or (isinstance(value, str) and not value.strip())


def _field_missing(name: str) -> str:
    return f'Поле "{_SYNONYMS.get(name, name)}" не заполнено'


def _column_missing(name: str, line: Any, section: str) -> str:
    return f'Не заполнена колонка "{_SYNONYMS.get(name, name)}" в строке {line} списка "{_LIST_NAMES.get(section, section)}"'


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


# ---- the bound functions -----------------------------------------------------------------------------------

_ACTIONS = ("Post", "Unpost")


def call_action(store: Store, request: Request) -> Response:
    """`POST Set(guid'…')/Post?PostingModeOperational=false` and `/Unpost` (onec.md §1.8)."""
    action = action_name(request.tail or "")
    entity_set = request.entity_set
    entity_type = store.types.get(entity_set)
    if action not in _ACTIONS or entity_type is None or not entity_type.is_document:
        raise ODataError(400, "11", f"Метод не найден: {action}")
    if request.method != "POST":
        raise ODataError(405, "19", f"HTTP-метод {request.method} запрещён для метода {action}")
    if request.key is None:
        raise ODataError(400, "7", f"Не хватает элемента ключа: {entity_set}(guid'…')/{action}")
    operational = request.query.get("PostingModeOperational", "false").strip().lower()
    if operational not in ("true", "false"):
        raise ODataError(400, "21", f"Неверное значение параметра PostingModeOperational: {operational!r}")
    if action == "Post" and operational == "true":
        # BP 3.0 documents have RealTimePosting=Deny (onec.md §1.8); the exact text of 1C's refusal is unverified.
        raise ODataError(
            500,
            "-1",
            f"Оперативное проведение документов {entity_set} запрещено (RealTimePosting = Deny): "
            "проводите с PostingModeOperational=false",
        )
    with store.lock:
        index = store.index_of(entity_set, request.key)
        if index is None:
            raise ODataError(404, "9", f"Экземпляр сущности не найден: {entity_set}(guid'{request.key}')")
        document = store.sets[entity_set][index]
        if action == "Post" and document["DeletionMark"]:
            raise ODataError(500, "-1", f"Помеченный на удаление документ не может быть проведен: {entity_set}")
        problems = posting_problems(entity_set, document, store.find) if action == "Post" else []
        if problems:  # BP's ОбработкаПроверкиЗаполнения refuses the posting
            raise ODataError(500, "-1", posting_failure(f"{entity_set} {document['Number']}", problems))
        store.replace(entity_set, index, {**document, "Posted": action == "Post"})
    return Response(200, b"", {"DataServiceVersion": "3.0"})
