"""A real HTTP imitation of 1C:Бухгалтерия предприятия 3.0's standard OData interface (odata/standard.odata).

`OnecSandbox` takes one request from arrival to answer — limits and faults first, then the protocol, then the
entity set — and offers the controls tests use. Serves the sample base from `local.seed` (:mod:`local.onec.base`)
in 1C's JSON or Atom shape, answers OData v3 queries (:mod:`local.onec.query`) and `$metadata`
(:mod:`local.onec.metadata`), creates buyer invoices, sales, tax invoices, counterparties and contracts by POST and
changes objects by PATCH (:mod:`local.onec.writes`), posts and unposts documents (:mod:`local.onec.posting`). Two
BP releases (:mod:`local.onec.releases`) differ in the shape of buyer-invoice lines and in the VAT rates they know.
Optional latency per request and a cap on concurrent requests (:mod:`local.onec.limits`) and injected faults
(:mod:`local.onec.faults`) help test a bridge's timeouts and retries.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from defusedxml import ElementTree

from local.onec import query as odata_query
from local.onec.accounting import Accountant
from local.onec.base import AccountingSetUp, catalog_rows, history_rows, posting_rows
from local.onec.faults import FaultHook, Faults, InjectedFault
from local.onec.filter import FilterError
from local.onec.formats import (
    ATOM_HEADERS,
    TEXT_HEADERS,
    Format,
    UnsupportedFormat,
    atom_entry,
    atom_feed,
    negotiate,
    parse_atom_entry,
    service_document,
)
from local.onec.limits import SessionCap, session_limit_error
from local.onec.metadata import entity_types, render_metadata, section_of, section_rows
from local.onec.model import INVOICE_SET, ORGANIZATIONS
from local.onec.posting import call_action
from local.onec.protocol import (
    INTERNAL_ERROR_MESSAGE,
    RESOURCE_RE,
    ROOT_PATH,
    XML_HEADERS,
    ODataError,
    Request,
    Response,
    Server,
    action_name,
    authorized,
    error_response,
    json_response,
    parse_key,
    unauthorized,
)
from local.onec.releases import OnecFlavour
from local.onec.store import Store, data_version
from local.onec.writes import CREATABLE, create, update
from local.seed import ONEC_BASE, ONEC_PASSWORD, ONEC_USERNAME, OnecBase
from local.serving import InBackground


@dataclass(frozen=True)
class RequestLogEntry:
    method: str
    entity_set: str  # decoded, e.g. "Catalog_Контрагенты"; "" for the service root, "$metadata" for the metadata
    query: dict[str, str]
    status: int
    key: str | None = None  # the GUID in `Set(guid'…')`
    action: str | None = None  # the bound function after the key, e.g. "Post" / "Unpost"
    rows_examined: int = 0  # rows a read had to look at, as a base with the indexes of local.onec.query would


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
        self._sessions = SessionCap(max_sessions)
        self._base = base
        self._address = (host, port)
        self._credentials = (username.encode("utf-8"), password.encode("utf-8"))
        self._unpublished = frozenset(base.unpublished) | unpublished
        self._flavour = flavour
        types = entity_types(flavour)
        sets: dict[str, list[dict[str, Any]]] = {name: [] for name in types}
        sets.update(catalog_rows(base))
        # what posting refers to: bank accounts, the main warehouse, the accounts (local.onec.posting)
        self.accounting = accounting or AccountingSetUp()
        sets.update(posting_rows(sets[ORGANIZATIONS], self.accounting, data_version(1)))
        self._store = Store(types, sets, flavour.enums(), self.accounting)
        self._faults = Faults()
        self._latency = latency_seconds
        self._served: InBackground | None = None
        self.request_log: list[RequestLogEntry] = []
        self.accountant = Accountant(self)  # plays the accountant: posts, records receipts, unposts

    # ---- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> OnecSandbox:
        if self._served is not None:
            raise RuntimeError("the 1C sandbox is already running")
        self._served = InBackground(Server(self._address, self._dispatch), name="onec-sandbox", poll_interval=0.05)
        self._served.start()
        return self

    def stop(self) -> None:
        served, self._served = self._served, None
        if served is not None:
            served.stop()

    def __enter__(self) -> OnecSandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._served is None:
            raise RuntimeError("the 1C sandbox is not running")
        return f"{self._served.url}{ROOT_PATH}"

    @property
    def flavour(self) -> OnecFlavour:
        return self._flavour

    # ---- test controls ---------------------------------------------------------------------------------

    def documents(
        self, entity_set: str = INVOICE_SET, where: Callable[[Mapping[str, Any]], bool] | None = None
    ) -> list[dict[str, Any]]:
        with self._store.lock:
            rows = self._store.sets.get(entity_set, [])
            return copy.deepcopy(rows if where is None else [row for row in rows if where(row)])

    def seed_documents(self, entity_set: str, count: int, *, first: datetime, last: datetime) -> None:
        """Add `count` posted documents dated evenly from `first` to `last` (naive, the base's local time), of
        the sample base's buyers in turn, as a base with years of history has them: built in bulk, not through
        HTTP. Their comments end with markers of another portal's deals."""
        rows = history_rows(self._store.types[entity_set], self._base, count, first=first, last=last)
        with self._store.lock:
            self._store.sets[entity_set].extend(rows)

    def metadata(self) -> str:
        """The `$metadata` document: published entity types only, enumerations of this flavour."""
        published = [entity_type for name, entity_type in self._store.types.items() if name not in self._unpublished]
        return render_metadata(published, self._store.enums)

    def post_document(self, entity_set: str, ref: str) -> None:
        """Mark a document posted, as if an accountant posted it in 1C (new DataVersion); KeyError if absent."""
        self.update_document(entity_set, ref, {"Posted": True})

    def update_document(self, entity_set: str, ref: str, changes: Mapping[str, Any]) -> None:
        """Change a document as a person would in 1C (new DataVersion); KeyError if absent."""
        store = self._store
        with store.lock:
            index = store.index_of(entity_set, ref.lower())
            if index is None or not store.types[entity_set].is_document:
                raise KeyError(f"{entity_set}(guid'{ref}')")
            store.replace(entity_set, index, {**store.sets[entity_set][index], **changes})

    @contextmanager
    def editing(self) -> Iterator[dict[str, list[dict[str, Any]]]]:
        """The base's rows under the sandbox's lock, for local control surfaces (local.onec.accounting)."""
        with self._store.lock:
            yield self._store.sets

    def set_latency(self, seconds: float) -> None:
        """Delay every following answer by `seconds` (0 switches the delay off)."""
        if seconds < 0:
            raise ValueError("latency must not be negative")
        with self._store.lock:
            self._latency = seconds

    def reset_log(self) -> None:
        with self._store.lock:
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
        with self._store.lock:
            self._faults.queue(count, InjectedFault(status, code, message, after_write, http_method))

    def set_credentials(self, username: str, password: str) -> None:
        """Change the OData user's login, as an administrator would in 1C (requests with the old one get 401)."""
        with self._store.lock:
            self._credentials = (username.encode("utf-8"), password.encode("utf-8"))

    def set_outage(self, status: int | None = 503, code: str = "-1", message: str = INTERNAL_ERROR_MESSAGE) -> None:
        """Answer every request with this odata.error until called with ``status=None`` (1C or its web server
        is down, or — with 401 — the bridge's login is refused until the password is fixed)."""
        with self._store.lock:
            self._faults.set_outage(status, code, message)

    def set_fault_hook(self, hook: FaultHook | None) -> None:
        """Ask `hook` about each request that no queued `fail_next` fault takes; None removes it."""
        with self._store.lock:
            self._faults.set_hook(hook)

    # ---- request handling ------------------------------------------------------------------------------

    def _dispatch(
        self,
        method: str,
        raw_path: str,
        authorization: str | None,
        body: bytes,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        split = urlsplit(raw_path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        path = unquote(split.path)
        resource = path[len(ROOT_PATH) :] if path.startswith(ROOT_PATH) else path
        parts = RESOURCE_RE.match(resource)
        entity_set = parts["set"] if parts else resource
        action = action_name(parts["tail"]) if parts and parts["tail"] else None
        key: str | None = None
        if self._sessions.enter():
            try:
                latency = self._latency
                if latency > 0:
                    time.sleep(latency)  # outside every lock: concurrent requests wait side by side
                key, response = self._answer(method, path, parts, query, authorization, body, headers or {})
            finally:
                self._sessions.leave()
        else:
            response = error_response(session_limit_error())
            try:
                key = parse_key(parts["key"]) if parts else None
            except ODataError:
                key = None
        with self._store.lock:
            self.request_log.append(
                RequestLogEntry(method, entity_set, query, response.status, key, action, response.rows_examined)
            )
        return response

    def _answer(
        self,
        method: str,
        path: str,
        parts: re.Match[str] | None,
        query: dict[str, str],
        authorization: str | None,
        body: bytes,
        headers: Mapping[str, str],
    ) -> tuple[str | None, Response]:
        key: str | None = None
        with self._store.lock:
            fault = self._faults.take(method, parts["set"] if parts else "")
        try:
            if fault is not None and not fault.after_write:
                raise fault.error()
            if not path.startswith(ROOT_PATH) or parts is None:
                raise ODataError(404, "6", f"Неверный URL: {path}")
            key = parse_key(parts["key"])
            request = Request(method, parts["set"], key, parts["tail"], query, body, headers)
            response = self._route(request, authorization)
        except ODataError as error:
            response = error_response(error)
        except FilterError as error:
            response = error_response(ODataError(400, error.code, error.message))
        except Exception as error:  # a sandbox bug: answer as 1C would, but keep the cause visible
            traceback.print_exc()
            response = error_response(ODataError(500, "-1", f"{INTERNAL_ERROR_MESSAGE} [sandbox: {error!r}]"))
        if fault is not None and fault.after_write:
            response = error_response(fault.error())
        return key, response

    def _route(self, request: Request, authorization: str | None) -> Response:
        if not authorized(authorization, self._credentials):
            raise unauthorized()
        method, entity_set, key, query = request.method, request.entity_set, request.key, request.query
        if entity_set == "$metadata" and key is None and not request.tail:
            if method != "GET":
                raise ODataError(405, "19", f"HTTP-метод {method} запрещён для $metadata")
            return Response(200, self.metadata().encode("utf-8"), dict(XML_HEADERS))
        published = [name for name in self._store.sets if name not in self._unpublished]
        section = section_of(self._store.types, entity_set) if entity_set not in self._store.sets else None
        if section is not None and section[0] in published:
            return self._section_set(request, *section)
        if entity_set and entity_set not in published:
            # The HTTP status a live base gives for an unpublished set is unverified (onec.md §5.1).
            raise ODataError(404, "8", f"Тип сущности не найден: {entity_set}")
        if request.tail == "/$count" and key is None and entity_set:
            return self._count(request)
        if request.tail:
            return call_action(self._store, request)
        try:  # $format, else Accept, else Atom (local.onec.formats)
            fmt = negotiate(query.get("$format"), request.headers.get("accept"))
        except UnsupportedFormat:
            raise ODataError(400, "3", f"Тип представления не поддерживается: {query.get('$format')}") from None
        unknown = sorted(name for name in query if name.startswith("$") and name not in odata_query.KNOWN_OPTIONS)
        if unknown:
            raise ODataError(400, "14", f"Опция запроса не поддерживается песочницей: {unknown[0]}")
        metadata = fmt is not Format.JSON_NO_METADATA
        atom = fmt is Format.ATOM
        entity_type = self._store.types.get(entity_set)
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
                return Response(200, service_document(self.url, published), dict(XML_HEADERS))
            value = [{"name": name, "url": name} for name in published]
            return json_response(200, {"odata.metadata": f"{self.url}$metadata", "value": value}, metadata)
        if method == "GET":
            if key is not None:
                element = odata_query.entity(self._store, self.url, entity_set, key, query)
                response = (
                    Response(200, atom_entry(self.url, entity_set, element, entity_type), dict(ATOM_HEADERS))
                    if atom
                    else json_response(200, element, metadata)
                )
                response.rows_examined = 1  # the Ref_Key index
                return response
            payload, examined = odata_query.collection(self._store, self.url, entity_set, query)
            if atom:
                count = int(payload["odata.count"]) if "odata.count" in payload else None
                feed = atom_feed(self.url, entity_set, payload["value"], entity_type, count)
                response = Response(200, feed, dict(ATOM_HEADERS))
            else:
                response = json_response(200, payload, metadata)
            response.rows_examined = examined
            return response
        if method == "POST" and key is None and entity_set in CREATABLE:
            created = create(self._store, entity_set, request.body)
            location = quote(f"{self.url}{entity_set}(guid'{created['Ref_Key']}')", safe=":/()'")
            if atom:
                body = atom_entry(self.url, entity_set, odata_query.render(entity_set, created), entity_type)
                return Response(201, body, {**ATOM_HEADERS, "Location": location})
            return json_response(201, self._element(entity_set, created), metadata, {"Location": location})
        if method == "PATCH" and key is not None:
            updated = update(self._store, entity_set, key, request.body, request.headers.get("if-match"))
            if atom:
                return Response(200, atom_entry(self.url, entity_set, updated, entity_type), dict(ATOM_HEADERS))
            return json_response(200, self._element(entity_set, updated), metadata)
        raise ODataError(405, "19", f"HTTP-метод {method} не поддерживается песочницей для {entity_set}")

    def _count(self, request: Request) -> Response:
        """`Set/$count[?$filter=…]`: the number of matching objects as bare text (onec.md §1.3)."""
        if request.method != "GET":
            raise ODataError(405, "19", f"HTTP-метод {request.method} запрещён для $count")
        payload, examined = odata_query.collection(
            self._store,
            self.url,
            request.entity_set,
            {k: v for k, v in request.query.items() if k == "$filter"} | {"$inlinecount": "allpages"},
        )
        response = Response(200, str(payload["odata.count"]).encode("utf-8"), dict(TEXT_HEADERS))
        response.rows_examined = examined
        return response

    def _section_set(self, request: Request, owner: str, section: str) -> Response:
        """A tabular section's own set (`Document_X_Товары`): read-only, rows keyed by Ref_Key and LineNumber."""
        entity_set = f"{owner}_{section}"
        if request.method != "GET" or request.key is not None:
            # onec.md §1.7: rows cannot be created directly (code 13); the sandbox serves the set read-only
            raise ODataError(400, "13", f"Создание строк табличной части напрямую не поддерживается: {entity_set}")
        with self._store.lock:
            rows = section_rows(list(self._store.sets[owner]), section)
        payload = {"odata.metadata": f"{self.url}$metadata#{entity_set}", "value": copy.deepcopy(rows)}
        return json_response(200, payload, "nometadata" not in request.query.get("$format", ""))

    def _element(self, entity_set: str, row: Mapping[str, Any]) -> dict[str, Any]:
        return {"odata.metadata": f"{self.url}$metadata#{entity_set}/@Element", **odata_query.render(entity_set, row)}
