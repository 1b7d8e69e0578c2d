"""A real HTTP imitation of 1C:Бухгалтерия предприятия 3.0's standard OData interface (odata/standard.odata).

Serves the sample base from `local.seed` in 1C's JSON shape, answers OData v3 queries ($filter, $select, $top,
$skip, $orderby, $inlinecount) and accepts new `Document_СчетНаОплатуПокупателю` entities by POST. JSON only.
Stricter than a live base in one respect: references in a posted invoice must point at existing objects.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hmac
import json
import re
import struct
import threading
import traceback
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from local.odata_filter import FilterError, matches, parse_filter
from local.seed import ONEC_BASE, ONEC_PASSWORD, ONEC_USERNAME, OnecBase

ROOT_PATH = "/bp30/odata/standard.odata/"
INVOICE_SET = "Document_СчетНаОплатуПокупателю"
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01T00:00:00"
NOMENCLATURE_TYPE = "StandardODATA.Catalog_Номенклатура"
VAT_RATES = frozenset(
    {"НДС22", "НДС22_122", "НДС20", "НДС20_120", "НДС10", "НДС10_110", "НДС0", "БезНДС"}
    | {"НДС5", "НДС5_105", "НДС7", "НДС7_107", "НДС18", "НДС18_118"}
)
INTERNAL_ERROR_MESSAGE = (
    "Произошла внутренняя ошибка OData сервиса. Дополнительные сведения можно найти в технологическом журнале."
)
_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_RESOURCE_RE = re.compile(r"^(?P<set>[^()/]*)(?:\((?P<key>[^)]*)\))?(?P<tail>/.*)?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
_KNOWN_OPTIONS = frozenset({"$format", "$filter", "$select", "$top", "$skip", "$orderby", "$inlinecount"})
_JSON_HEADERS = {"Content-Type": "application/json;charset=utf-8", "DataServiceVersion": "3.0"}

_INVOICE_KEYS = (
    "Организация_Key", "Склад_Key", "ПодразделениеОрганизации_Key", "Контрагент_Key",
    "ДоговорКонтрагента_Key", "ОрганизацияПолучатель_Key", "СтруктурнаяЕдиница_Key", "Ответственный_Key",
    "ВалютаДокумента_Key", "ТипЦен_Key", "Руководитель_Key", "ГлавныйБухгалтер_Key", "ДополнительныеУсловия_Key",
    "ЗаРуководителяНаОсновании_Key", "ЗаГлавногоБухгалтераНаОсновании_Key", "СпособДоставки_Key",
    "ЗаголовокСчета_Key",
)  # fmt: skip
# Header of СчетНаОплатуПокупателю (BP 3.0.198) with the values 1C stores when a property is not sent.
_INVOICE_DEFAULTS: dict[str, Any] = {
    **dict.fromkeys(_INVOICE_KEYS, ZERO_GUID),
    "ВидОперации": "", "АдресДоставки": "", "АдресДоставкиЗначение": "", "Комментарий": "",
    "КурсВзаиморасчетов": 0, "КратностьВзаиморасчетов": "0", "СуммаСкидки": 0, "СуммаВключаетНДС": False,
    "СуммаДокумента": 0, "ДокументБезНДС": False, "СсылочныйИдентификатор": "", "ДокументОснование": "",
    "ДокументОснование_Type": "StandardODATA.Undefined", "ВариантПечатиQRКода": "",
    "Товары": [], "ВозвратнаяТара": [], "РеквизитыКодаДляОплаты": [],
}  # fmt: skip
_INVOICE_ROW_DEFAULTS: dict[str, Any] = {
    "Номенклатура": "", "Номенклатура_Type": "StandardODATA.Undefined", "Содержание": "", "Количество": 0,
    "Цена": 0, "Сумма": 0, "ПроцентСкидки": 0, "СуммаСкидки": 0, "СтавкаНДС": "", "СуммаНДС": 0,
    "ИдентификаторСтроки": "", "ИдентификаторРодительскойСтроки": "",
}  # fmt: skip
_SYSTEM_PROPERTIES = ("Ref_Key", "DataVersion", "DeletionMark", "Number", "Date", "Posted")
_ROW_NUMBERS = ("Количество", "Цена", "Сумма", "СуммаНДС")


@dataclass(frozen=True)
class RequestLogEntry:
    method: str
    entity_set: str  # decoded, e.g. "Catalog_Контрагенты"; "" for the service root
    query: dict[str, str]
    status: int
    key: str | None = None  # the GUID in `Set(guid'…')`


class ODataError(Exception):
    """An answer in 1C's `odata.error` shape."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class _Fault:
    status: int
    code: str
    message: str
    after_write: bool
    http_method: str | None = None  # None: the next request of any method

    def error(self) -> ODataError:
        return ODataError(self.status, self.code, self.message)


@dataclass
class _Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _data_version(counter: int) -> str:
    return base64.b64encode(struct.pack(">II", counter, 0)).decode("ascii")


def to_json(value: Any) -> str:
    """Serialize like 1C: Decimal money as exact JSON numbers (trailing zeros dropped), Cyrillic unescaped."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    if isinstance(value, int | float | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{to_json(str(k))}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(to_json(item) for item in value) + "]"
    raise TypeError(f"cannot serialize {type(value).__name__}")


def _catalogs(base: OnecBase) -> dict[str, list[dict[str, Any]]]:
    """Catalog rows in BP 3.0's JSON shape (see shared/reference/onec_samples)."""
    version = _data_version(1)
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sandbox: OnecSandbox) -> None:
        super().__init__(address, _Handler)
        self.sandbox = sandbox


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes; avoid the 40 ms delayed-ACK stall
    server: _Server

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        response = self.server.sandbox._dispatch(method, self.path, self.headers.get("Authorization"), body)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)


class OnecSandbox:
    """1C:БП 3.0 OData imitation on 127.0.0.1; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        base: OnecBase = ONEC_BASE,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = ONEC_USERNAME,
        password: str = ONEC_PASSWORD,
        unpublished: frozenset[str] = frozenset(),
    ) -> None:
        self._base = base
        self._address = (host, port)
        self._credentials = (username.encode("utf-8"), password.encode("utf-8"))
        self._unpublished = frozenset(base.unpublished) | unpublished
        self._sets: dict[str, list[dict[str, Any]]] = {**_catalogs(base), INVOICE_SET: []}
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._numbers: dict[tuple[str, str], int] = {}
        self._versions = 1
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.request_log: list[RequestLogEntry] = []

    # ---- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> OnecSandbox:
        if self._server is not None:
            raise RuntimeError("the 1C sandbox is already running")
        self._server = _Server(self._address, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="onec-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> OnecSandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the 1C sandbox is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{ROOT_PATH}"

    # ---- test controls ---------------------------------------------------------------------------------

    def documents(self, entity_set: str = INVOICE_SET) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._sets.get(entity_set, []))

    def reset_log(self) -> None:
        with self._lock:
            self.request_log.clear()

    def fail_next(
        self,
        count: int,
        status: int = 500,
        code: str = "-1",
        message: str = INTERNAL_ERROR_MESSAGE,
        *,
        after_write: bool = False,
        http_method: str | None = None,
    ) -> None:
        """Answer the next `count` requests with this odata.error (queued after faults already pending).

        With `after_write=True` the request is processed first (a POST is stored) and only the answer fails —
        the "1C saved it but the response was lost" case. With `http_method` the faults wait for requests of
        that method (e.g. "POST") and let the others through.
        """
        with self._lock:
            self._faults.extend([_Fault(status, code, message, after_write, http_method)] * count)

    # ---- request handling ------------------------------------------------------------------------------

    def _dispatch(self, method: str, raw_path: str, authorization: str | None, body: bytes) -> _Response:
        split = urlsplit(raw_path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        path = unquote(split.path)
        resource = path[len(ROOT_PATH) :] if path.startswith(ROOT_PATH) else path
        parts = _RESOURCE_RE.match(resource)
        entity_set = parts["set"] if parts else resource
        key: str | None = None
        with self._lock:
            waiting = [i for i, f in enumerate(self._faults) if f.http_method in (None, method)]
            fault = self._faults.pop(waiting[0]) if waiting else None
        try:
            if fault is not None and not fault.after_write:
                raise fault.error()
            if not path.startswith(ROOT_PATH) or parts is None:
                raise ODataError(404, "6", f"Неверный URL: {path}")
            key = self._parse_key(parts["key"])
            response = self._route(method, entity_set, key, parts["tail"], query, authorization, body)
        except ODataError as error:
            response = _error_response(error)
        except FilterError as error:
            response = _error_response(ODataError(400, error.code, error.message))
        except Exception as error:  # a sandbox bug: answer as 1C would, but keep the cause visible
            traceback.print_exc()
            response = _error_response(ODataError(500, "-1", f"{INTERNAL_ERROR_MESSAGE} [sandbox: {error!r}]"))
        if fault is not None and fault.after_write:
            response = _error_response(fault.error())
        with self._lock:
            self.request_log.append(RequestLogEntry(method, entity_set, query, response.status, key))
        return response

    @staticmethod
    def _parse_key(raw: str | None) -> str | None:
        if raw is None:
            return None
        match = re.fullmatch(r"guid'([^']*)'", raw)
        if match is None or not _GUID_RE.match(match[1]):
            raise ODataError(400, "6", f"Неверное значение ключа: ({raw}); ожидается (guid'…')")
        return match[1].lower()

    def _authorized(self, header: str | None) -> bool:
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, colon, password = base64.b64decode(token.strip(), validate=True).partition(b":")
        except binascii.Error:
            return False
        expected_user, expected_password = self._credentials
        # Evaluate both comparisons so timing does not reveal which one failed.
        same_user = hmac.compare_digest(user, expected_user)
        same_password = hmac.compare_digest(password, expected_password)
        return bool(colon) and same_user and same_password

    def _route(
        self,
        method: str,
        entity_set: str,
        key: str | None,
        tail: str | None,
        query: dict[str, str],
        authorization: str | None,
        body: bytes,
    ) -> _Response:
        if not self._authorized(authorization):
            raise ODataError(
                401,
                "20",
                "Не пройдена аутентификация пользователя OData",
                {"WWW-Authenticate": 'Basic realm="1C"'},
            )
        published = [name for name in self._sets if name not in self._unpublished]
        if entity_set and entity_set not in published:
            # The HTTP status a live base gives for an unpublished set is unverified (onec.md §5.1).
            raise ODataError(404, "8", f"Тип сущности не найден: {entity_set}")
        fmt = query.get("$format", "")
        if fmt != "json" and not fmt.startswith("application/json"):
            raise ODataError(
                400, "3", "Тип представления не поддерживается: песочница отвечает только JSON ($format=json)"
            )
        unknown = sorted(name for name in query if name.startswith("$") and name not in _KNOWN_OPTIONS)
        if unknown:
            raise ODataError(400, "14", f"Опция запроса не поддерживается песочницей: {unknown[0]}")
        if tail:
            raise ODataError(400, "11", f"Метод не найден: {tail.lstrip('/')}")
        metadata = "nometadata" not in fmt
        if not entity_set:
            if method != "GET":
                raise ODataError(405, "19", f"HTTP-метод {method} запрещён для корня сервиса")
            value = [{"name": name, "url": name} for name in published]
            return self._json(200, {"odata.metadata": f"{self.url}$metadata", "value": value}, metadata)
        if method == "GET":
            if key is not None:
                return self._json(200, self._entity(entity_set, key, query), metadata)
            return self._json(200, self._collection(entity_set, query), metadata)
        if method == "POST" and entity_set == INVOICE_SET and key is None:
            created = self._create_invoice(body)
            location = quote(f"{self.url}{INVOICE_SET}(guid'{created['Ref_Key']}')", safe=":/()'")
            entity = {
                "odata.metadata": f"{self.url}$metadata#{INVOICE_SET}/@Element",
                **self._render(INVOICE_SET, created),
            }
            return self._json(201, entity, metadata, {"Location": location})
        raise ODataError(405, "19", f"HTTP-метод {method} не поддерживается песочницей для {entity_set}")

    def _json(
        self, status: int, payload: dict[str, Any], metadata: bool, headers: dict[str, str] | None = None
    ) -> _Response:
        if not metadata:
            payload = {k: v for k, v in payload.items() if k != "odata.metadata"}
        return _Response(status, to_json(payload).encode("utf-8"), {**_JSON_HEADERS, **(headers or {})})

    # ---- reading ---------------------------------------------------------------------------------------

    def _properties(self, entity_set: str, rows: list[dict[str, Any]]) -> set[str]:
        names = {name for row in rows for name in row}
        if entity_set == INVOICE_SET:
            names |= {*_SYSTEM_PROPERTIES, *_INVOICE_DEFAULTS}
        return names

    def _entity(self, entity_set: str, key: str, query: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            rows = list(self._sets[entity_set])
        found = [row for row in rows if row["Ref_Key"] == key]
        if not found:
            raise ODataError(404, "9", f"Экземпляр сущности не найден: {entity_set}(guid'{key}')")
        selected = self._select(entity_set, found, query.get("$select"), self._properties(entity_set, rows))
        return {"odata.metadata": f"{self.url}$metadata#{entity_set}/@Element", **selected[0]}

    def _collection(self, entity_set: str, query: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            rows = list(self._sets[entity_set])
        known = self._properties(entity_set, rows)
        if "$filter" in query:
            condition = parse_filter(query["$filter"], known)
            rows = [row for row in rows if matches(condition, row)]
        if query.get("$orderby"):
            rows = _order(rows, query["$orderby"], known)
        count = len(rows)
        skip, top = _count_option(query, "$skip") or 0, _count_option(query, "$top")
        rows = rows[skip:] if top is None else rows[skip : skip + top]
        result: dict[str, Any] = {"odata.metadata": f"{self.url}$metadata#{entity_set}"}
        if query.get("$inlinecount") == "allpages":
            result["odata.count"] = str(count)
        result["value"] = self._select(entity_set, rows, query.get("$select"), known)
        return result

    def _select(
        self, entity_set: str, rows: list[dict[str, Any]], select: str | None, known: set[str]
    ) -> list[dict[str, Any]]:
        if select is None or select.strip() == "*":
            return [self._render(entity_set, row) for row in rows]
        names = [name.strip() for name in select.split(",")]
        for name in names:
            if not name:
                raise ODataError(400, "14", f"Пустое имя свойства в $select: {select}")
            if "/" in name:
                raise ODataError(400, "0", f"Пути в $select не поддерживаются песочницей: {name}")
            if name not in known:
                raise ODataError(400, "10", f"Свойство не найдено: {name}")
        return [{name: copy.deepcopy(row.get(name)) for name in row if name in names} for row in rows]

    @staticmethod
    def _render(entity_set: str, row: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of the row plus 1C's navigation links for its non-empty single-type references."""
        rendered = copy.deepcopy(dict(row))
        for name, value in row.items():
            if name.endswith("_Key") and name != "Ref_Key" and value != ZERO_GUID:
                link = name[: -len("_Key")]
                rendered[f"{link}@navigationLinkUrl"] = f"{entity_set}(guid'{row['Ref_Key']}')/{link}"
        return rendered

    # ---- writing ---------------------------------------------------------------------------------------

    def _create_invoice(self, raw: bytes) -> dict[str, Any]:
        try:
            body = json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError) as exc:
            raise ODataError(400, "1", f"Не удалось разобрать тело запроса как JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ODataError(400, "2", "Тело запроса должно быть JSON-объектом")
        if "Posted" in body:
            raise ODataError(400, "16", "Не удалось присвоить свойство Posted: проведение выполняется методом Post")
        for name in body:
            if name not in _INVOICE_DEFAULTS and name not in _SYSTEM_PROPERTIES and not _ignorable(name):
                raise ODataError(400, "10", f"Свойство не найдено: {name}")
        date = body.get("Date")
        if not isinstance(date, str) or not _DATE_RE.match(date):
            raise ODataError(400, "5", f"Нет обязательного значения свойства Date (ГГГГ-ММ-ДДTчч:мм:сс): {date!r}")
        if not isinstance(body.get("СуммаВключаетНДС", False), bool):
            raise ODataError(400, "4", "Неверное значение свойства СуммаВключаетНДС: ожидается true/false")
        rows = body.get("Товары")
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise ODataError(400, "4", "Неверное значение свойства Товары: ожидается массив строк-объектов")
        if any("LineNumber" not in row for row in rows):
            raise ODataError(500, "-1", INTERNAL_ERROR_MESSAGE)  # what a live base answers (onec.md §1.7)
        with self._lock:
            organization = self._check_reference(body, "Организация_Key", "Catalog_Организации")
            counterparty = self._check_reference(body, "Контрагент_Key", "Catalog_Контрагенты")
            self._check_reference(body, "ВалютаДокумента_Key", "Catalog_Валюты")
            if body.get("ДоговорКонтрагента_Key", ZERO_GUID) != ZERO_GUID:
                contract = self._check_reference(body, "ДоговорКонтрагента_Key", "Catalog_ДоговорыКонтрагентов")
                if contract["Owner_Key"] != counterparty["Ref_Key"]:
                    raise ODataError(
                        400,
                        "4",
                        "Неверное значение свойства ДоговорКонтрагента_Key: договор другого контрагента",
                    )
            ref = str(uuid.uuid4())
            stored_rows = [self._check_row(row, ref) for row in rows]
            self._versions += 1
            document = {
                "Ref_Key": ref,
                "DataVersion": _data_version(self._versions),
                "DeletionMark": False,
                "Number": body.get("Number") or self._next_number(organization["Префикс"], date[:4]),
                "Date": date,
                "Posted": False,
                **_INVOICE_DEFAULTS,
                **{k: v for k, v in body.items() if k not in _SYSTEM_PROPERTIES},
                "Товары": stored_rows,
            }
            if not document["СсылочныйИдентификатор"]:
                document["СсылочныйИдентификатор"] = str(uuid.uuid4())
            document["СуммаДокумента"] = _invoice_total(stored_rows, bool(document["СуммаВключаетНДС"]))
            self._sets[INVOICE_SET].append(document)
            return copy.deepcopy(document)

    def _check_reference(self, body: Mapping[str, Any], name: str, catalog: str) -> dict[str, Any]:
        value = body.get(name, ZERO_GUID)
        if not isinstance(value, str) or not _GUID_RE.match(value):
            raise ODataError(400, "4", f"Неверное значение свойства {name}: {value!r} не является GUID")
        for row in self._sets[catalog]:
            if row["Ref_Key"] == value.lower():
                return row
        # A live base would store a broken reference («<Объект не найден>»); the sandbox refuses it.
        raise ODataError(400, "4", f"Неверное значение свойства {name}: в {catalog} нет объекта {value}")

    def _check_row(self, row: Mapping[str, Any], ref: str) -> dict[str, Any]:
        line = row["LineNumber"]
        where = f"Товары (LineNumber={line})"
        if isinstance(line, bool) or not re.fullmatch(r"[1-9]\d*", str(line)):
            raise ODataError(400, "4", f"Неверное значение свойства LineNumber: {line!r}")
        for name in row:
            if name not in _INVOICE_ROW_DEFAULTS and name not in ("LineNumber", "Ref_Key"):
                raise ODataError(400, "10", f"Свойство не найдено: {where}.{name}")
        for name in _ROW_NUMBERS:
            if name not in row:
                raise ODataError(400, "5", f"Нет обязательного значения свойства {where}.{name}")
            if isinstance(row[name], bool) or not isinstance(row[name], int | Decimal):
                raise ODataError(400, "4", f"Неверное значение свойства {where}.{name}: ожидается число")
        if row.get("СтавкаНДС") not in VAT_RATES:
            raise ODataError(400, "4", f"Неверное значение свойства {where}.СтавкаНДС: {row.get('СтавкаНДС')!r}")
        item, item_type = row.get("Номенклатура", ""), row.get("Номенклатура_Type", "")
        if item:
            if item_type != NOMENCLATURE_TYPE:
                raise ODataError(
                    400,
                    "4",
                    f"Неверное значение свойства {where}.Номенклатура_Type: ожидается {NOMENCLATURE_TYPE}",
                )
            self._check_reference({"Номенклатура": item}, "Номенклатура", "Catalog_Номенклатура")
        elif not (isinstance(row.get("Содержание"), str) and row["Содержание"].strip()):
            raise ODataError(400, "5", f"Нет обязательного значения свойства {where}: Номенклатура или Содержание")
        sent = {k: v for k, v in row.items() if k not in ("Ref_Key", "LineNumber")}
        return {"Ref_Key": ref, "LineNumber": str(line), **_INVOICE_ROW_DEFAULTS, **sent}

    def _next_number(self, prefix: str, year: str) -> str:
        sequence = self._numbers.get((prefix, year), 0) + 1
        self._numbers[(prefix, year)] = sequence
        return f"{prefix}00-{sequence:06d}"


def _error_response(error: ODataError) -> _Response:
    payload = {"odata.error": {"code": error.code, "message": {"lang": "ru", "value": error.message}}}
    return _Response(error.status, to_json(payload).encode("utf-8"), {**_JSON_HEADERS, **error.headers})


def _reject_constant(name: str) -> Any:
    raise ValueError(f"недопустимое число {name}")


def _ignorable(name: str) -> bool:
    """Properties 1C itself tolerates in a body: deprecated attributes, annotations, navigation links."""
    return name.startswith("Удалить") or name.startswith("odata.") or "@" in name


def _invoice_total(rows: list[dict[str, Any]], vat_included: bool) -> Decimal:
    total = sum((Decimal(row["Сумма"]) for row in rows), Decimal(0))
    if not vat_included:
        total += sum((Decimal(row["СуммаНДС"]) for row in rows), Decimal(0))
    return total


def _count_option(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise ODataError(400, "14", f"Неверное значение опции {name}: {raw!r}")
    return int(raw)


def _order(rows: list[dict[str, Any]], orderby: str, known: set[str]) -> list[dict[str, Any]]:
    keys: list[tuple[str, bool]] = []
    for item in orderby.split(","):
        name, _, direction = item.strip().partition(" ")
        direction = direction.strip() or "asc"
        if name not in known:
            raise ODataError(400, "10", f"Свойство не найдено: {name}")
        if direction not in ("asc", "desc"):
            raise ODataError(400, "14", f"Неверное направление сортировки в $orderby: {item.strip()!r}")
        keys.append((name, direction == "desc"))
    ordered = list(rows)
    for name, descending in reversed(keys):
        ordered.sort(key=lambda row: _sort_key(row.get(name)), reverse=descending)
    return ordered


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, int | Decimal):
        return (2, value)
    return (3, str(value))
