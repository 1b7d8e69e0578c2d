"""A real HTTP imitation of 1C:Бухгалтерия предприятия 3.0's standard OData interface (odata/standard.odata).

Serves the sample base from `local.seed` in 1C's JSON shape, answers OData v3 queries ($filter, $select, $top,
$skip, $orderby, $inlinecount) and `$metadata` (EDMX), creates buyer invoices, sales, tax invoices, counterparties
and contracts by POST, changes objects by PATCH (with `If-Match: <DataVersion>`), posts and unposts documents.
Two BP releases ("flavours", `local.onec_metadata.OnecFlavour`) differ in the shape of buyer-invoice lines and in
the VAT rates they know. JSON only (except `$metadata`, which is XML as in 1C). Stricter than a live base in one
respect: references in a write must point at existing objects. Optional latency per request and a cap on
concurrent requests (1C's licence-like session limit) help test a bridge's timeouts and retries.
"""

from __future__ import annotations

import base64
import binascii
import copy
import dataclasses
import hmac
import json
import re
import struct
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Container, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from defusedxml import ElementTree

from local.odata_filter import FilterError, Node, indexed_range, matches, parse_filter
from local.onec_accounting import Accountant, accounting_types
from local.onec_formats import (
    ATOM_HEADERS,
    TEXT_HEADERS,
    Format,
    UnsupportedFormat,
    atom_entry,
    atom_feed,
    expand,
    inline_count,
    negotiate,
    parse_atom_entry,
    service_document,
)
from local.onec_metadata import (
    ALL_VAT_RATES,
    CONTRACTS,
    COUNTERPARTIES,
    EMPTY_DATE,
    INVOICE_SET,
    NAMESPACE,
    NOMENCLATURE,
    ORGANIZATIONS,
    SALE_SET,
    TAX_INVOICE_SET,
    ZERO_GUID,
    Edm,
    EntityType,
    OnecFlavour,
    Prop,
    TabularSection,
    entity_types,
    render_metadata,
)
from local.onec_metadata_links import section_of, section_rows
from local.onec_posting_checks import (
    AccountingSetUp,
    before_write,
    posting_failure,
    posting_problems,
    posting_rows,
    posting_types,
)
from local.seed import ONEC_BASE, ONEC_PASSWORD, ONEC_USERNAME, OnecBase

__all__ = [
    "EMPTY_DATE",
    "INVOICE_SET",
    "NOMENCLATURE_TYPE",
    "SALE_SET",
    "SALE_TYPE",
    "TAX_INVOICE_SET",
    "ZERO_GUID",
    "ODataError",
    "OnecFlavour",
    "OnecSandbox",
    "RequestLogEntry",
    "to_json",
]

ROOT_PATH = "/bp30/odata/standard.odata/"
NOMENCLATURE_TYPE = f"{NAMESPACE}.{NOMENCLATURE}"
SALE_TYPE = f"{NAMESPACE}.{SALE_SET}"
VAT_RATES = frozenset(ALL_VAT_RATES)  # every rate of BP 3.0.198; a sandbox's own list depends on its flavour
INTERNAL_ERROR_MESSAGE = (
    "Произошла внутренняя ошибка OData сервиса. Дополнительные сведения можно найти в технологическом журнале."
)
SESSION_LIMIT_MESSAGE = "Превышено максимальное количество сеансов"
_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_RESOURCE_RE = re.compile(r"^(?P<set>[^()/]*)(?:\((?P<key>[^)]*)\))?(?P<tail>/.*)?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
_INT_RE = re.compile(r"^-?[0-9]+$")
_KNOWN_OPTIONS = frozenset({"$format", "$filter", "$select", "$top", "$skip", "$orderby", "$inlinecount", "$expand"})
_JSON_HEADERS = {"Content-Type": "application/json;charset=utf-8", "DataServiceVersion": "3.0"}
_XML_HEADERS = {"Content-Type": "application/xml;charset=utf-8", "DataServiceVersion": "3.0"}
_CREATABLE = frozenset({INVOICE_SET, SALE_SET, TAX_INVOICE_SET, COUNTERPARTIES, CONTRACTS})
_ACTIONS = ("Post", "Unpost")
_READ_ONLY = ("Ref_Key", "DataVersion", "Posted")  # a write never takes these from the body
_ROW_NUMBERS = ("Количество", "Цена", "Сумма", "СуммаНДС")  # required in every VAT-bearing document line
_DESCRIPTION_LENGTH = 100  # Catalog_Контрагенты.Description (onec.md §2.1)


@dataclass(frozen=True)
class RequestLogEntry:
    method: str
    entity_set: str  # decoded, e.g. "Catalog_Контрагенты"; "" for the service root, "$metadata" for the metadata
    query: dict[str, str]
    status: int
    key: str | None = None  # the GUID in `Set(guid'…')`
    action: str | None = None  # the bound function after the key, e.g. "Post" / "Unpost"
    rows_examined: int = 0  # rows a read had to look at, as a base with the indexes of `_rows_to_examine` would


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


InjectedFault = _Fault
FaultHook = Callable[[str, str], InjectedFault | None]
"""Called for every request with its HTTP method and entity set ("" for the service root): a fault to answer
with instead, or None to serve it."""


def injected_fault(status: int, code: str, message: str, *, after_write: bool = False) -> InjectedFault:
    """A fault for a `FaultHook` to return; with `after_write` the request is served (a POST is stored) and only
    its answer is replaced (1C stored the document but the answer was lost)."""
    return _Fault(status, code, message, after_write)


@dataclass
class _Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    rows_examined: int = 0


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
        headers = {name.lower(): value for name, value in self.headers.items()}
        response = self.server.sandbox._dispatch(method, self.path, self.headers.get("Authorization"), body, headers)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)


_Check = Callable[["OnecSandbox", EntityType, dict[str, Any], Mapping[str, Any]], None]


class OnecSandbox:
    """1C:БП 3.0 OData imitation on 127.0.0.1; use as a context manager or call start()/stop().

    `flavour` picks the BP release imitated (line shapes, VAT rates); `unpublished` hides entity sets from the
    OData composition; `latency_seconds` delays every answer; with `max_sessions` a request arriving while that
    many are being processed is refused with 503 (1C's «Превышено максимальное количество сеансов»).
    """

    def __init__(
        self,
        base: OnecBase = ONEC_BASE,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = ONEC_USERNAME,
        password: str = ONEC_PASSWORD,
        unpublished: frozenset[str] = frozenset(),
        flavour: OnecFlavour = OnecFlavour.BP_3_0_198,
        latency_seconds: float = 0.0,
        max_sessions: int | None = None,
        accounting: AccountingSetUp | None = None,
    ) -> None:
        if latency_seconds < 0:
            raise ValueError("latency_seconds must not be negative")
        if max_sessions is not None and max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")
        self._base = base
        self._address = (host, port)
        self._credentials = (username.encode("utf-8"), password.encode("utf-8"))
        self._unpublished = frozenset(base.unpublished) | unpublished
        self._flavour = flavour
        self._enums = flavour.enums()
        # registers and receipts: onec_accounting; what posting refers to: onec_posting_checks
        self._types = {**entity_types(flavour), **accounting_types(), **posting_types()}
        self._sets: dict[str, list[dict[str, Any]]] = {name: [] for name in self._types}
        self._sets.update(_catalogs(base))
        # what posting refers to: bank accounts, the main warehouse, the accounts (local.onec_posting_checks)
        self.accounting = accounting or AccountingSetUp()
        self._sets.update(posting_rows(self._sets[ORGANIZATIONS], self.accounting, _data_version(1)))
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._outage: _Fault | None = None
        self._fault_hook: FaultHook | None = None
        self._numbers: dict[tuple[str, str, str], int] = {}
        self._versions = 1
        self._latency = latency_seconds
        self._max_sessions = max_sessions
        self._sessions = 0
        self._sessions_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.request_log: list[RequestLogEntry] = []
        self.accountant = Accountant(self)  # plays the accountant: posts, records receipts, unposts

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

    @property
    def flavour(self) -> OnecFlavour:
        return self._flavour

    # ---- test controls ---------------------------------------------------------------------------------

    def documents(
        self, entity_set: str = INVOICE_SET, where: Callable[[Mapping[str, Any]], bool] | None = None
    ) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._sets.get(entity_set, [])
            return copy.deepcopy(rows if where is None else [row for row in rows if where(row)])

    def seed_documents(self, entity_set: str, count: int, *, first: datetime, last: datetime) -> None:
        """Add `count` posted documents dated evenly from `first` to `last` (naive, the base's local time), of
        the sample base's buyers in turn, as a base with years of history has them: built in bulk, not through
        HTTP. Their comments end with markers of another portal's deals."""
        entity_type = self._types[entity_set]
        if not entity_type.is_document:
            raise ValueError(f"{entity_set} is not a document set")
        defaults = entity_type.defaults()
        organization = self._base.organizations[0].ref_key
        currency = self._base.currencies[0].ref_key if self._base.currencies else ZERO_GUID
        buyers = [counterparty.ref_key for counterparty in self._base.counterparties]
        step = (last - first) / max(count - 1, 1)
        version = _data_version(1)
        rows = [
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
        with self._lock:
            self._sets[entity_set].extend(rows)

    def metadata(self) -> str:
        """The `$metadata` document: published entity types only, enumerations of this flavour."""
        published = [entity_type for name, entity_type in self._types.items() if name not in self._unpublished]
        return render_metadata(published, self._enums)

    def post_document(self, entity_set: str, ref: str) -> None:
        """Mark a document posted, as if an accountant posted it in 1C (new DataVersion); KeyError if absent."""
        with self._lock:
            index = self._index_of(entity_set, ref.lower())
            if index is None or not self._types[entity_set].is_document:
                raise KeyError(f"{entity_set}(guid'{ref}')")
            self._replace(entity_set, index, {**self._sets[entity_set][index], "Posted": True})

    def update_document(self, entity_set: str, ref: str, changes: Mapping[str, Any]) -> None:
        """Change a document as a person would in 1C (new DataVersion); KeyError if absent."""
        with self._lock:
            index = self._index_of(entity_set, ref.lower())
            if index is None or not self._types[entity_set].is_document:
                raise KeyError(f"{entity_set}(guid'{ref}')")
            self._replace(entity_set, index, {**self._sets[entity_set][index], **changes})

    @contextmanager
    def editing(self) -> Iterator[dict[str, list[dict[str, Any]]]]:
        """The base's rows under the sandbox's lock, for local control surfaces (local.onec_accounting)."""
        with self._lock:
            yield self._sets

    def set_latency(self, seconds: float) -> None:
        """Delay every following answer by `seconds` (0 switches the delay off)."""
        if seconds < 0:
            raise ValueError("latency must not be negative")
        with self._lock:
            self._latency = seconds

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

    def set_credentials(self, username: str, password: str) -> None:
        """Change the OData user's login, as an administrator would in 1C (requests with the old one get 401)."""
        with self._lock:
            self._credentials = (username.encode("utf-8"), password.encode("utf-8"))

    def set_outage(self, status: int | None = 503, code: str = "-1", message: str = INTERNAL_ERROR_MESSAGE) -> None:
        """Answer every request with this odata.error until called with ``status=None`` (1C or its web server
        is down, or — with 401 — the bridge's login is refused until the password is fixed)."""
        with self._lock:
            self._outage = None if status is None else _Fault(status, code, message, after_write=False)

    def set_fault_hook(self, hook: FaultHook | None) -> None:
        """Ask `hook` about each request that no queued `fail_next` fault takes; None removes it."""
        with self._lock:
            self._fault_hook = hook

    # ---- request handling ------------------------------------------------------------------------------

    def _dispatch(
        self,
        method: str,
        raw_path: str,
        authorization: str | None,
        body: bytes,
        headers: Mapping[str, str] | None = None,
    ) -> _Response:
        split = urlsplit(raw_path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        path = unquote(split.path)
        resource = path[len(ROOT_PATH) :] if path.startswith(ROOT_PATH) else path
        parts = _RESOURCE_RE.match(resource)
        entity_set = parts["set"] if parts else resource
        action = _action_name(parts["tail"]) if parts and parts["tail"] else None
        key: str | None = None
        if self._enter_session():
            try:
                latency = self._latency
                if latency > 0:
                    time.sleep(latency)  # outside every lock: concurrent requests wait side by side
                key, response = self._answer(method, path, parts, query, authorization, body, headers or {})
            finally:
                self._leave_session()
        else:
            response = _error_response(ODataError(503, "-1", SESSION_LIMIT_MESSAGE))
            try:
                key = self._parse_key(parts["key"]) if parts else None
            except ODataError:
                key = None
        with self._lock:
            self.request_log.append(
                RequestLogEntry(method, entity_set, query, response.status, key, action, response.rows_examined)
            )
        return response

    def _enter_session(self) -> bool:
        with self._sessions_lock:
            if self._max_sessions is not None and self._sessions >= self._max_sessions:
                return False
            self._sessions += 1
            return True

    def _leave_session(self) -> None:
        with self._sessions_lock:
            self._sessions -= 1

    def _answer(
        self,
        method: str,
        path: str,
        parts: re.Match[str] | None,
        query: dict[str, str],
        authorization: str | None,
        body: bytes,
        headers: Mapping[str, str],
    ) -> tuple[str | None, _Response]:
        key: str | None = None
        with self._lock:
            if self._outage is not None:
                fault: _Fault | None = self._outage
            else:
                waiting = [i for i, f in enumerate(self._faults) if f.http_method in (None, method)]
                fault = self._faults.pop(waiting[0]) if waiting else None
                if fault is None and self._fault_hook is not None:
                    fault = self._fault_hook(method, parts["set"] if parts else "")
        try:
            if fault is not None and not fault.after_write:
                raise fault.error()
            if not path.startswith(ROOT_PATH) or parts is None:
                raise ODataError(404, "6", f"Неверный URL: {path}")
            key = self._parse_key(parts["key"])
            request = _Request(method, parts["set"], key, parts["tail"], query, body, headers)
            response = self._route(request, authorization)
        except ODataError as error:
            response = _error_response(error)
        except FilterError as error:
            response = _error_response(ODataError(400, error.code, error.message))
        except Exception as error:  # a sandbox bug: answer as 1C would, but keep the cause visible
            traceback.print_exc()
            response = _error_response(ODataError(500, "-1", f"{INTERNAL_ERROR_MESSAGE} [sandbox: {error!r}]"))
        if fault is not None and fault.after_write:
            response = _error_response(fault.error())
        return key, response

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

    def _route(self, request: _Request, authorization: str | None) -> _Response:
        if not self._authorized(authorization):
            raise ODataError(
                401,
                "20",
                "Не пройдена аутентификация пользователя OData",
                {"WWW-Authenticate": 'Basic realm="1C"'},
            )
        method, entity_set, key, query = request.method, request.entity_set, request.key, request.query
        if entity_set == "$metadata" and key is None and not request.tail:
            if method != "GET":
                raise ODataError(405, "19", f"HTTP-метод {method} запрещён для $metadata")
            return _Response(200, self.metadata().encode("utf-8"), dict(_XML_HEADERS))
        published = [name for name in self._sets if name not in self._unpublished]
        section = section_of(self._types, entity_set) if entity_set not in self._sets else None
        if section is not None and section[0] in published:
            return self._section_set(request, *section)
        if entity_set and entity_set not in published:
            # The HTTP status a live base gives for an unpublished set is unverified (onec.md §5.1).
            raise ODataError(404, "8", f"Тип сущности не найден: {entity_set}")
        if request.tail == "/$count" and key is None and entity_set:
            return self._count(request)
        if request.tail:
            return self._call_action(request)
        try:  # $format, else Accept, else Atom (local.onec_formats)
            fmt = negotiate(query.get("$format"), request.headers.get("accept"))
        except UnsupportedFormat:
            raise ODataError(400, "3", f"Тип представления не поддерживается: {query.get('$format')}") from None
        unknown = sorted(name for name in query if name.startswith("$") and name not in _KNOWN_OPTIONS)
        if unknown:
            raise ODataError(400, "14", f"Опция запроса не поддерживается песочницей: {unknown[0]}")
        metadata = fmt is not Format.JSON_NO_METADATA
        atom = fmt is Format.ATOM
        entity_type = self._types.get(entity_set)
        if entity_type is not None and "xml" in request.headers.get("content-type", "") and request.body:
            try:  # an Atom entry written by the client: checked as the same JSON body would be
                body = json.dumps(parse_atom_entry(request.body, entity_type), default=str).encode("utf-8")
            except (ValueError, ElementTree.ParseError) as exc:
                raise ODataError(400, "1", f"Не удалось разобрать тело запроса (Atom): {exc}") from None
            request = dataclasses.replace(request, body=body)
        if not entity_set:
            if method != "GET":
                raise ODataError(405, "19", f"HTTP-метод {method} запрещён для корня сервиса")
            if atom:
                return _Response(200, service_document(self.url, published), dict(_XML_HEADERS))
            value = [{"name": name, "url": name} for name in published]
            return self._json(200, {"odata.metadata": f"{self.url}$metadata", "value": value}, metadata)
        if method == "GET":
            if key is not None:
                element = self._entity(entity_set, key, query)
                response = (
                    _Response(200, atom_entry(self.url, entity_set, element, entity_type), dict(ATOM_HEADERS))
                    if atom
                    else self._json(200, element, metadata)
                )
                response.rows_examined = 1  # the Ref_Key index
                return response
            payload, examined = self._collection(entity_set, query)
            if atom:
                count = int(payload["odata.count"]) if "odata.count" in payload else None
                feed = atom_feed(self.url, entity_set, payload["value"], entity_type, count)
                response = _Response(200, feed, dict(ATOM_HEADERS))
            else:
                response = self._json(200, payload, metadata)
            response.rows_examined = examined
            return response
        if method == "POST" and key is None and entity_set in _CREATABLE:
            created = self._create(entity_set, request.body)
            location = quote(f"{self.url}{entity_set}(guid'{created['Ref_Key']}')", safe=":/()'")
            if atom:
                body = atom_entry(self.url, entity_set, self._render(entity_set, created), entity_type)
                return _Response(201, body, {**ATOM_HEADERS, "Location": location})
            return self._json(201, self._element(entity_set, created), metadata, {"Location": location})
        if method == "PATCH" and key is not None:
            updated = self._update(entity_set, key, request.body, request.headers.get("if-match"))
            if atom:
                return _Response(200, atom_entry(self.url, entity_set, updated, entity_type), dict(ATOM_HEADERS))
            return self._json(200, self._element(entity_set, updated), metadata)
        raise ODataError(405, "19", f"HTTP-метод {method} не поддерживается песочницей для {entity_set}")

    def _count(self, request: _Request) -> _Response:
        """`Set/$count[?$filter=…]`: the number of matching objects as bare text (onec.md §1.3)."""
        if request.method != "GET":
            raise ODataError(405, "19", f"HTTP-метод {request.method} запрещён для $count")
        payload, examined = self._collection(
            request.entity_set,
            {k: v for k, v in request.query.items() if k == "$filter"} | {"$inlinecount": "allpages"},
        )
        response = _Response(200, str(payload["odata.count"]).encode("utf-8"), dict(TEXT_HEADERS))
        response.rows_examined = examined
        return response

    def _expanded(self, entity_set: str, rows: list[dict[str, Any]], option: str | None) -> list[dict[str, Any]]:
        if not option:
            return rows

        def rendered(target: str, key: str) -> dict[str, Any] | None:
            found = self._find(target, key)
            return self._render(target, found) if found is not None else None

        try:
            return expand(self._types[entity_set], option, rows, rendered)
        except KeyError as exc:
            raise ODataError(400, "10", f"Свойство не найдено: {exc.args[0]} ($expand)") from None

    def _section_set(self, request: _Request, owner: str, section: str) -> _Response:
        """A tabular section's own set (`Document_X_Товары`): read-only, rows keyed by Ref_Key and LineNumber."""
        entity_set = f"{owner}_{section}"
        if request.method != "GET" or request.key is not None:
            # onec.md §1.7: rows cannot be created directly (code 13); the sandbox serves the set read-only
            raise ODataError(400, "13", f"Создание строк табличной части напрямую не поддерживается: {entity_set}")
        with self._lock:
            rows = section_rows(list(self._sets[owner]), section)
        payload = {"odata.metadata": f"{self.url}$metadata#{entity_set}", "value": copy.deepcopy(rows)}
        return self._json(200, payload, "nometadata" not in request.query.get("$format", ""))

    def _json(
        self, status: int, payload: dict[str, Any], metadata: bool, headers: dict[str, str] | None = None
    ) -> _Response:
        if not metadata:
            payload = {k: v for k, v in payload.items() if k != "odata.metadata"}
        return _Response(status, to_json(payload).encode("utf-8"), {**_JSON_HEADERS, **(headers or {})})

    def _element(self, entity_set: str, row: Mapping[str, Any]) -> dict[str, Any]:
        return {"odata.metadata": f"{self.url}$metadata#{entity_set}/@Element", **self._render(entity_set, row)}

    # ---- posting ---------------------------------------------------------------------------------------

    def _call_action(self, request: _Request) -> _Response:
        """`POST Set(guid'…')/Post?PostingModeOperational=false` and `/Unpost` (onec.md §1.8)."""
        action = _action_name(request.tail or "")
        entity_set = request.entity_set
        entity_type = self._types.get(entity_set)
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
        with self._lock:
            index = self._index_of(entity_set, request.key)
            if index is None:
                raise ODataError(404, "9", f"Экземпляр сущности не найден: {entity_set}(guid'{request.key}')")
            document = self._sets[entity_set][index]
            if action == "Post" and document["DeletionMark"]:
                raise ODataError(500, "-1", f"Помеченный на удаление документ не может быть проведен: {entity_set}")
            problems = posting_problems(entity_set, document, self._find) if action == "Post" else []
            if problems:  # BP's ОбработкаПроверкиЗаполнения refuses the posting (local.onec_posting_checks)
                raise ODataError(500, "-1", posting_failure(f"{entity_set} {document['Number']}", problems))
            self._replace(entity_set, index, {**document, "Posted": action == "Post"})
        return _Response(200, b"", {"DataServiceVersion": "3.0"})

    # ---- reading ---------------------------------------------------------------------------------------

    def _properties(self, entity_set: str, rows: list[dict[str, Any]]) -> _Names:
        return _Names(self._types[entity_set].names(), rows)

    def _entity(self, entity_set: str, key: str, query: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            rows = list(self._sets[entity_set])
        found = [row for row in rows if row["Ref_Key"] == key]
        if not found:
            raise ODataError(404, "9", f"Экземпляр сущности не найден: {entity_set}(guid'{key}')")
        selected = self._select(entity_set, found, query.get("$select"), self._properties(entity_set, rows))
        selected = self._expanded(entity_set, selected, query.get("$expand"))
        return {"odata.metadata": f"{self.url}$metadata#{entity_set}/@Element", **selected[0]}

    def _collection(self, entity_set: str, query: dict[str, str]) -> tuple[dict[str, Any], int]:
        """The answer and how many rows the base examined to give it."""
        with self._lock:
            rows = list(self._sets[entity_set])
        known = self._properties(entity_set, rows)
        examined = len(rows)
        if "$filter" in query:
            condition = parse_filter(query["$filter"], _Names(self._types[entity_set].names(), rows))
            rows = _rows_to_examine(condition, rows)
            examined = len(rows)
            rows = [row for row in rows if matches(condition, row)]
        if query.get("$orderby"):
            rows = _order(rows, query["$orderby"], known)
        count = len(rows)
        skip, top = _count_option(query, "$skip") or 0, _count_option(query, "$top")
        rows = rows[skip:] if top is None else rows[skip : skip + top]
        result: dict[str, Any] = {"odata.metadata": f"{self.url}$metadata#{entity_set}"}
        try:
            counted = inline_count(query.get("$inlinecount"))
        except ValueError as exc:
            raise ODataError(400, "14", str(exc)) from None
        if counted:
            result["odata.count"] = str(count)
        selected = self._select(entity_set, rows, query.get("$select"), known)
        result["value"] = self._expanded(entity_set, selected, query.get("$expand"))
        return result, examined

    def _select(
        self, entity_set: str, rows: list[dict[str, Any]], select: str | None, known: Container[str]
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
            if name.endswith("_Key") and name != "Ref_Key" and value != ZERO_GUID and "Ref_Key" in row:
                link = name[: -len("_Key")]
                rendered[f"{link}@navigationLinkUrl"] = f"{entity_set}(guid'{row['Ref_Key']}')/{link}"
        return rendered

    # ---- writing: the shared part ----------------------------------------------------------------------

    def _create(self, entity_set: str, raw: bytes) -> dict[str, Any]:
        body = _parse_body(raw)
        entity_type = self._types[entity_set]
        self._check_body(entity_type, body, patch=False)
        with self._lock:
            entity = {**entity_type.defaults(), "Ref_Key": str(uuid.uuid4())}
            self._apply(entity_type, entity, body)
            self._complete(entity_type, entity, body)
            self._sets[entity_set].append(entity)
            return copy.deepcopy(entity)

    def _update(self, entity_set: str, key: str, raw: bytes, if_match: str | None) -> dict[str, Any]:
        """PATCH: only the properties sent change; a tabular section sent replaces the whole section."""
        body = _parse_body(raw)
        entity_type = self._types[entity_set]
        self._check_body(entity_type, body, patch=True)
        if "Ref_Key" in body and str(body["Ref_Key"]).lower() != key:
            raise ODataError(400, "16", "Не удалось присвоить свойство Ref_Key: ключ объекта не меняется")
        with self._lock:
            index = self._index_of(entity_set, key)
            if index is None:
                raise ODataError(404, "9", f"Экземпляр сущности не найден: {entity_set}(guid'{key}')")
            current = self._sets[entity_set][index]
            if if_match is not None and not _etag_matches(if_match, current["DataVersion"]):
                # 412 for a stale DataVersion (onec.md §1.11); the odata.error code 1C uses here is unverified.
                raise ODataError(
                    412,
                    "-1",
                    f"Объект {entity_set}(guid'{key}') изменен другим пользователем: версия в If-Match "
                    f"{if_match.strip()} устарела, текущая {current['DataVersion']}",
                )
            entity = copy.deepcopy(current)
            self._apply(entity_type, entity, body)
            if entity_type.is_document and entity["DeletionMark"] and not current["DeletionMark"]:
                entity["Posted"] = False  # marking a document for deletion cancels its posting, as in 1C
            self._complete(entity_type, entity, body)
            self._sets[entity_set][index] = entity
            return copy.deepcopy(entity)

    def _check_body(self, entity_type: EntityType, body: Mapping[str, Any], *, patch: bool) -> None:
        """What can be judged from the body alone: names, types, enum values, rows."""
        if entity_type.is_document and "Posted" in body:
            raise ODataError(400, "16", "Не удалось присвоить свойство Posted: проведение выполняется методом Post")
        known = entity_type.names()
        for name in body:
            if name not in known and not _ignorable(name):
                raise ODataError(400, "10", f"Свойство не найдено: {name}")
        if entity_type.is_document and (not patch or "Date" in body):
            date = body.get("Date")
            if not _is_date(date):
                raise ODataError(400, "5", f"Нет обязательного значения свойства Date (ГГГГ-ММ-ДДTчч:мм:сс): {date!r}")
        for prop in entity_type.properties:
            if prop.name in body:
                self._check_value(prop, body[prop.name], prop.name)
        for section in entity_type.tabular_sections:
            if section.name in body:
                self._check_rows(section, body[section.name])

    def _check_value(self, prop: Prop, value: Any, where: str) -> None:
        if not _has_type(prop.type, value):
            expected = {
                Edm.GUID: "GUID", Edm.STRING: "строка", Edm.DOUBLE: "число", Edm.INT64: "целое число",
                Edm.BOOLEAN: "true/false", Edm.DATETIME: "дата ГГГГ-ММ-ДДTчч:мм:сс",
            }[prop.type]  # fmt: skip
            raise ODataError(400, "4", f"Неверное значение свойства {where}: {value!r}, ожидается {expected}")
        if prop.enum is not None and value != "" and value not in self._enums[prop.enum]:
            raise ODataError(400, "4", f"Неверное значение свойства {where}: {value!r} нет в перечислении {prop.enum}")

    def _check_rows(self, section: TabularSection, rows: Any) -> None:
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise ODataError(400, "4", f"Неверное значение свойства {section.name}: ожидается массив строк-объектов")
        if any("LineNumber" not in row for row in rows):
            raise ODataError(500, "-1", INTERNAL_ERROR_MESSAGE)  # what a live base answers (onec.md §1.7)
        vat = section.column("СтавкаНДС")
        for row in rows:
            line = row["LineNumber"]
            if isinstance(line, bool) or not re.fullmatch(r"[1-9]\d*", str(line)):
                raise ODataError(400, "4", f"Неверное значение свойства LineNumber: {line!r}")
            where = f"{section.name} (LineNumber={line})"
            for name in row:
                if section.column(name) is None and name not in ("LineNumber", "Ref_Key"):
                    raise ODataError(400, "10", f"Свойство не найдено: {where}.{name}")
            for column in section.columns:
                if vat is not None and column.name in _ROW_NUMBERS and column.name not in row:
                    raise ODataError(400, "5", f"Нет обязательного значения свойства {where}.{column.name}")
                if column.name in row:
                    self._check_value(column, row[column.name], f"{where}.{column.name}")
            if vat is not None and not row.get("СтавкаНДС"):
                raise ODataError(400, "4", f"Неверное значение свойства {where}.СтавкаНДС: {row.get('СтавкаНДС')!r}")

    @staticmethod
    def _apply(entity_type: EntityType, entity: dict[str, Any], body: Mapping[str, Any]) -> None:
        """Copy the body's values into the object; a tabular section sent replaces the stored one."""
        for name, value in body.items():
            if name in _READ_ONLY or _ignorable(name):
                continue
            section = entity_type.section(name)
            if section is not None:
                entity[name] = [_stored_row(section, row, entity["Ref_Key"]) for row in value]
            else:
                prop = entity_type.prop(name)
                entity[name] = _stored_value(prop.type, value) if prop is not None else value

    def _complete(self, entity_type: EntityType, entity: dict[str, Any], body: Mapping[str, Any]) -> None:
        """Under the lock: check references and the kind's own rules, compute what 1C computes on write,
        number the object and give it a new DataVersion."""
        before_write(entity_type.name, entity, lambda name: self._sets.get(name, []), self.accounting)
        self._check_references(entity_type, entity)
        check = _KIND_CHECKS.get(entity_type.name)
        if check is not None:
            check(self, entity_type, entity, body)
        if entity_type.is_document and not entity["Number"]:
            organization = self._find(ORGANIZATIONS, entity["Организация_Key"]) or {}
            entity["Number"] = self._next_number(entity_type, str(organization.get("Префикс", "")), entity["Date"])
        elif not entity_type.is_document and not entity["Code"]:
            entity["Code"] = self._next_code(entity_type.name)
        self._versions += 1
        entity["DataVersion"] = _data_version(self._versions)

    def _check_references(self, entity_type: EntityType, entity: Mapping[str, Any]) -> None:
        for prop in entity_type.properties:
            self._check_reference(prop, entity, prop.name)
        for section in entity_type.tabular_sections:
            for row in entity[section.name]:
                for column in section.columns:
                    self._check_reference(column, row, f"{section.name} (LineNumber={row['LineNumber']}).{column.name}")

    def _check_reference(self, prop: Prop, values: Mapping[str, Any], where: str) -> None:
        value = values.get(prop.name)
        if not prop.references or value in (None, "", ZERO_GUID) or value == values.get("Ref_Key"):
            return
        targets = prop.references
        if prop.type is Edm.STRING:  # the value of a composite pair: its `_Type` says where to look
            kind = values.get(f"{prop.name}_Type", "")
            allowed = [f"{NAMESPACE}.{target}" for target in prop.references]
            if kind not in allowed:
                raise ODataError(
                    400, "4", f"Неверное значение свойства {where}_Type: {kind!r}, ожидается {' или '.join(allowed)}"
                )
            if not _GUID_RE.match(str(value)):
                raise ODataError(400, "4", f"Неверное значение свойства {where}: {value!r} не является GUID")
            targets = (kind.removeprefix(f"{NAMESPACE}."),)
        if all(self._find(target, str(value)) is None for target in targets):
            # A live base would store a broken reference («<Объект не найден>»); the sandbox refuses it.
            raise ODataError(400, "4", f"Неверное значение свойства {where}: в {targets[0]} нет объекта {value}")

    def _require(self, entity: Mapping[str, Any], *names: str) -> None:
        for name in names:
            value = entity.get(name)
            if value is None or value == ZERO_GUID or (isinstance(value, str) and not value.strip()):
                raise ODataError(400, "5", f"Нет обязательного значения свойства {name}")

    def _find(self, entity_set: str, ref: str) -> dict[str, Any] | None:
        index = self._index_of(entity_set, ref.lower())
        return None if index is None else self._sets[entity_set][index]

    def _index_of(self, entity_set: str, ref: str) -> int | None:
        for index, row in enumerate(self._sets.get(entity_set, [])):
            if row["Ref_Key"] == ref:
                return index
        return None

    def _replace(self, entity_set: str, index: int, entity: dict[str, Any]) -> None:
        """Store a changed object as a new dict (readers may hold the old one) with a new DataVersion."""
        self._versions += 1
        self._sets[entity_set][index] = {**entity, "DataVersion": _data_version(self._versions)}

    def _next_number(self, entity_type: EntityType, prefix: str, date: str) -> str:
        """Autonumber per document kind, organisation prefix and year (NumberPeriodicity=Year, onec.md §1.6)."""
        counter = (entity_type.name, prefix, date[:4])
        sequence = self._numbers.get(counter, 0) + 1
        self._numbers[counter] = sequence
        head = f"{prefix}00-"
        return head + str(sequence).zfill(max(entity_type.number_length - len(head), 1))

    def _next_code(self, entity_set: str) -> str:
        highest = 0
        for row in self._sets[entity_set]:
            match = re.fullmatch(r"00-(\d+)", str(row.get("Code", "")))
            if match:
                highest = max(highest, int(match[1]))
        return f"00-{highest + 1:06d}"

    # ---- writing: the rules of each kind ---------------------------------------------------------------

    def _check_contract(self, entity: Mapping[str, Any]) -> None:
        contract = self._find(CONTRACTS, entity.get("ДоговорКонтрагента_Key", ZERO_GUID))
        if contract is not None and contract["Owner_Key"] != entity["Контрагент_Key"]:
            raise ODataError(400, "4", "Неверное значение свойства ДоговорКонтрагента_Key: договор другого контрагента")

    def _check_items(self, entity_type: EntityType, entity: Mapping[str, Any]) -> None:
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
                    raise ODataError(
                        400, "5", f"Нет обязательного значения свойства {where}: Номенклатура или Содержание"
                    )

    def _check_invoice(self, entity_type: EntityType, entity: dict[str, Any], body: Mapping[str, Any]) -> None:
        self._require(entity, "Организация_Key", "Контрагент_Key", "ВалютаДокумента_Key")
        self._check_contract(entity)
        self._check_items(entity_type, entity)
        if not entity["СсылочныйИдентификатор"]:
            entity["СсылочныйИдентификатор"] = str(uuid.uuid4())
        entity["СуммаДокумента"] = _document_total(entity["Товары"], bool(entity["СуммаВключаетНДС"]))

    def _check_sale(self, entity_type: EntityType, entity: dict[str, Any], body: Mapping[str, Any]) -> None:
        self._require(entity, "Организация_Key", "Контрагент_Key", "ВалютаДокумента_Key")
        self._check_contract(entity)
        self._check_items(entity_type, entity)
        lines = [*entity["Товары"], *entity["Услуги"]]
        entity["СуммаДокумента"] = _document_total(lines, bool(entity["СуммаВключаетНДС"]))

    def _check_tax_invoice(self, entity_type: EntityType, entity: dict[str, Any], body: Mapping[str, Any]) -> None:
        self._require(entity, "Организация_Key", "Контрагент_Key", "ДокументОснование")
        self._check_contract(entity)
        refs = [entity["ДокументОснование"]]
        for row in entity["ДокументыОснования"]:
            if not row["ДокументОснование"]:
                where = f"ДокументыОснования (LineNumber={row['LineNumber']})"
                raise ODataError(400, "5", f"Нет обязательного значения свойства {where}.ДокументОснование")
            refs.append(row["ДокументОснование"])
        sales = {ref.lower(): self._find(SALE_SET, ref) or {} for ref in refs}
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

    def _check_counterparty(self, entity_type: EntityType, entity: dict[str, Any], body: Mapping[str, Any]) -> None:
        self._require(entity, "Description")
        if len(entity["Description"]) > _DESCRIPTION_LENGTH:
            raise ODataError(
                400,
                "4",
                f"Неверное значение свойства Description: длина {len(entity['Description'])} больше "
                f"{_DESCRIPTION_LENGTH} символов (полное наименование — в НаименованиеПолное)",
            )
        self._require(entity, "ЮридическоеФизическоеЛицо")
        if entity["ГоловнойКонтрагент_Key"] == ZERO_GUID:
            entity["ГоловнойКонтрагент_Key"] = entity["Ref_Key"]  # BP ПередЗаписью (onec.md §2.1)
        entity["ИННВведенКорректно"] = _inn_is_valid(entity["ИНН"])
        entity["КППВведенКорректно"] = bool(re.fullmatch(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}", entity["КПП"]))

    def _check_contract_catalog(self, entity_type: EntityType, entity: dict[str, Any], body: Mapping[str, Any]) -> None:
        self._require(entity, "Owner_Key", "Организация_Key", "ВидДоговора", "Description")


_KIND_CHECKS: dict[str, _Check] = {
    INVOICE_SET: OnecSandbox._check_invoice,
    SALE_SET: OnecSandbox._check_sale,
    TAX_INVOICE_SET: OnecSandbox._check_tax_invoice,
    COUNTERPARTIES: OnecSandbox._check_counterparty,
    CONTRACTS: OnecSandbox._check_contract_catalog,
}


@dataclass(frozen=True)
class _Request:
    method: str
    entity_set: str
    key: str | None
    tail: str | None
    query: dict[str, str]
    body: bytes
    headers: Mapping[str, str]  # names in lower case


def _action_name(tail: str) -> str:
    name = tail.strip("/")
    return name[:-2] if name.endswith("()") else name


def _error_response(error: ODataError) -> _Response:
    payload = {"odata.error": {"code": error.code, "message": {"lang": "ru", "value": error.message}}}
    return _Response(error.status, to_json(payload).encode("utf-8"), {**_JSON_HEADERS, **error.headers})


def _parse_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ODataError(400, "1", f"Не удалось разобрать тело запроса как JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ODataError(400, "2", "Тело запроса должно быть JSON-объектом")
    return body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"недопустимое число {name}")


def _ignorable(name: str) -> bool:
    """Properties 1C itself tolerates in a body: deprecated attributes, annotations, navigation links."""
    return name.startswith("Удалить") or name.startswith("odata.") or "@" in name


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or not _DATE_RE.match(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return value == EMPTY_DATE
    return True


def _has_type(edm: Edm, value: Any) -> bool:
    if edm is Edm.GUID:
        return isinstance(value, str) and bool(_GUID_RE.match(value))
    if edm is Edm.STRING:
        return isinstance(value, str)
    if edm is Edm.BOOLEAN:
        return isinstance(value, bool)
    if edm is Edm.DATETIME:
        return _is_date(value)
    if isinstance(value, bool):
        return False
    if edm is Edm.INT64:
        if isinstance(value, Decimal):
            return value.is_finite() and value == value.to_integral_value()
        return isinstance(value, int) or (isinstance(value, str) and bool(_INT_RE.match(value)))
    return isinstance(value, int | Decimal)  # Edm.Double


def _stored_value(edm: Edm, value: Any) -> Any:
    if edm is Edm.GUID:
        return str(value).lower()
    if edm is Edm.INT64:
        return str(int(value))  # 1C answers Edm.Int64 as a string (onec.md §1.5)
    return value


def _stored_row(section: TabularSection, row: Mapping[str, Any], ref: str) -> dict[str, Any]:
    stored: dict[str, Any] = {"Ref_Key": ref, "LineNumber": str(int(str(row["LineNumber"]))), **section.row_defaults()}
    for column in section.columns:
        if column.name in row:
            stored[column.name] = _stored_value(column.type, row[column.name])
    return stored


def _etag_matches(if_match: str, data_version: str) -> bool:
    """`If-Match` carries the DataVersion as is; quoted and weak forms and `*` are read as HTTP has them."""
    tags = [tag.strip() for tag in if_match.split(",")]
    return any(tag == "*" or tag.removeprefix("W/").strip('"') == data_version for tag in tags)


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


def _document_total(rows: list[dict[str, Any]], vat_included: bool) -> Decimal:
    total = sum((Decimal(row["Сумма"]) for row in rows), Decimal(0))
    if not vat_included:
        total += sum((Decimal(row["СуммаНДС"]) for row in rows), Decimal(0))
    return total


class _Names:
    """The properties a query may name: the entity type's, and (looked at only for another name) those the
    stored rows carry, so a query over a big set does not walk every row to learn the names."""

    def __init__(self, declared: set[str] | frozenset[str], rows: list[dict[str, Any]]) -> None:
        self._declared = declared
        self._rows = rows
        self._stored: set[str] | None = None

    def __contains__(self, name: object) -> bool:
        if name in self._declared:
            return True
        if self._stored is None:
            self._stored = set().union(*self._rows)
        return name in self._stored


def _rows_to_examine(condition: Node, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows a base must read for `condition`, modelling 1C's indexes of a document or catalog table: a
    `Ref_Key eq guid'…'` or a range on `Date` in the top-level `and` reads only the rows it selects; any other
    condition (`substringof` on a comment above all) reads every row of the table."""
    index = indexed_range(condition)
    if index is None:
        return rows
    if index.ref_key is not None:
        return [row for row in rows if row.get("Ref_Key") == index.ref_key]
    return [row for row in rows if _date_in(row.get("Date"), index.low, index.high)]


def _date_in(value: Any, low: tuple[str, bool] | None, high: tuple[str, bool] | None) -> bool:
    if not isinstance(value, str):
        return False
    if low is not None and (value < low[0] or (value == low[0] and not low[1])):
        return False
    return high is None or value < high[0] or (value == high[0] and high[1])


def _count_option(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise ODataError(400, "14", f"Неверное значение опции {name}: {raw!r}")
    return int(raw)


def _order(rows: list[dict[str, Any]], orderby: str, known: Container[str]) -> list[dict[str, Any]]:
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
