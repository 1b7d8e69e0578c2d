"""A local stand-in for a Bitrix24 cloud portal's incoming-webhook REST API, served over real HTTP.

It serves the sample portal from :mod:`local.seed` at ``http://127.0.0.1:<port>/rest/<user>/<code>/<method>``
with the documented response shapes: ``crm.deal.get`` values are strings, product-row figures are JSON
numbers, ``crm.item.*`` answers camelCase for deals (entityTypeId 2) and new invoices (31), errors are
``{"error", "error_description"}`` with the documented status codes, and ``batch`` answers HTTP 200 with empty
sections as ``[]``. It imitates both limits, the leaky-bucket request rate (503 ``QUERY_LIMIT_EXCEEDED``) and
the per-method operating time (429 ``OPERATION_TIME_LIMIT``), can add latency, records write-backs and lets
tests inject failures.

    with Bitrix24Sandbox() as portal:
        requests.post(portal.webhook_url + "crm.deal.get", json={"id": 1001})

This module is the portal as a whole: one request from arrival to answer (faults, path and authorisation, rate
limit, method or batch under the operating limit, the request log) and the controls tests use. The parts are
its neighbours: :mod:`~local.bitrix24.protocol` (path, parameters, answers, errors), :mod:`~local.bitrix24.store`
(the records), the methods by family (``crm_deal``, ``crm_item``, ``crm_product_rows``, ``crm_status``,
``crm_requisite``, ``crm_company``, ``crm_timeline``, ``catalog``, ``batch``), :mod:`~local.bitrix24.lists`,
:mod:`~local.bitrix24.limits` and :mod:`~local.bitrix24.faults`.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from local.bitrix24 import (
    catalog,
    crm_company,
    crm_deal,
    crm_item,
    crm_product_rows,
    crm_requisite,
    crm_status,
    crm_timeline,
)
from local.bitrix24.batch import batch, batch_error_codes, batch_methods
from local.bitrix24.faults import CrashError, FaultHook, Faults, InjectedFault
from local.bitrix24.limits import (
    OPERATING_WINDOW_SECONDS,
    QUERY_LIMIT_EXCEEDED,
    LeakyBucket,
    OperatingLimitError,
    OperatingMeter,
    TimeProfile,
    time_block,
)
from local.bitrix24.lists import ListOrder
from local.bitrix24.protocol import INTERNAL_ERROR, MethodResult, RestError, RestPath, read_params, success
from local.bitrix24.server import Served, ServedOverHTTP
from local.bitrix24.store import DealUpdate, ItemUpdate, Method, PortalStore, TimelineComment
from local.bitrix24.wire import encode_json
from local.seed import (
    COMPANIES,
    DEALS,
    PRODUCTS,
    REQUISITES,
    SMART_INVOICES,
    WEBHOOK_CODE,
    WEBHOOK_USER_ID,
    Company,
    Deal,
    Product,
    Requisite,
    SmartInvoice,
)

_METHOD_FAMILIES = (crm_deal, crm_item, crm_product_rows, crm_status, crm_requisite, crm_company, catalog, crm_timeline)


@dataclass(frozen=True)
class RequestLogEntry:
    """One HTTP request the sandbox answered.

    Equality compares the first four fields only, so tests can write ``RequestLogEntry("batch", (...), 200)``.
    """

    method: str  # the REST method called, lower-case ("batch", "crm.deal.get"); "" when the path had none
    batch_methods: tuple[str, ...]  # for "batch": the commands' methods, in order; otherwise ()
    status: int  # the HTTP status answered
    http_method: str = "POST"
    error: str = field(default="", compare=False)  # the answer's "error" code as text, "" on success
    batch_errors: tuple[tuple[str, str], ...] = field(default=(), compare=False)  # (command key, error code)
    params: dict[str, Any] = field(default_factory=dict, compare=False)  # the decoded request parameters
    started_at: float = field(default=0.0, compare=False)  # unix seconds the request arrived (before latency)


class Bitrix24Sandbox(ServedOverHTTP):
    """An HTTP server imitating one Bitrix24 portal's incoming webhook (see the module docstring).

    Operating limit: ``operating_cost_seconds`` maps a method (lower-case; ``"*"`` for any other) to the seconds
    each call of it is charged (default 0.0). With ``operating_limit_seconds`` set, a method whose charges within
    ``operating_window_seconds`` add up to more than the limit answers 429 until they age out. The clock is
    ``clock`` (unix seconds), for these and for modification stamps. ``latency_seconds`` delays every HTTP answer.
    ``deal_user_fields`` and ``invoice_user_fields`` name the portal's ``UF_CRM_*`` fields; ``None`` accepts any
    ``UF_CRM_*`` name. ``user_id`` and ``webhook_code`` make the webhook path, so sandboxes of several portals
    answer only their own.
    """

    def __init__(
        self,
        *,
        deals: Iterable[Deal] = DEALS,
        companies: Iterable[Company] = COMPANIES,
        requisites: Iterable[Requisite] = REQUISITES,
        products: Iterable[Product] = PRODUCTS,
        smart_invoices: Iterable[SmartInvoice] = SMART_INVOICES,
        host: str = "127.0.0.1",
        port: int = 0,
        drain_per_second: float = 2.0,
        burst: int = 50,
        latency_seconds: float = 0.0,
        operating_limit_seconds: float | None = None,
        operating_cost_seconds: Mapping[str, float] | None = None,
        operating_window_seconds: float = OPERATING_WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
        deal_user_fields: Iterable[str] | None = None,
        scopes: Iterable[str] = ("crm", "catalog"),
        invoice_user_fields: Iterable[str] | None = None,
        user_id: str = WEBHOOK_USER_ID,
        webhook_code: str = WEBHOOK_CODE,
        time_profile: TimeProfile = TimeProfile.REAL,
        list_order: ListOrder = ListOrder.REAL,
    ) -> None:
        self._lock = threading.RLock()
        self.time_profile = time_profile  # how the ``time`` block looks (local.bitrix24.limits)
        self.user_id = user_id
        self.webhook_code = webhook_code  # the secret part of this portal's incoming-webhook URL
        self._store = PortalStore(
            deals=deals,
            companies=companies,
            requisites=requisites,
            products=products,
            smart_invoices=smart_invoices,
            deal_user_fields=deal_user_fields,
            invoice_user_fields=invoice_user_fields,
            clock=clock,
            list_order=list_order,
        )
        self._bucket = LeakyBucket(drain_per_second, burst)
        self._operating = OperatingMeter(clock)
        self.latency_seconds = latency_seconds
        self.operating_limit_seconds = operating_limit_seconds
        self.operating_window_seconds = operating_window_seconds
        self.operating_cost_seconds: dict[str, float] = {
            method.lower(): cost for method, cost in (operating_cost_seconds or {}).items()
        }
        self._faults = Faults()
        self._request_log: list[RequestLogEntry] = []
        self._http = Served(self, host, port, thread_name="bitrix24-sandbox", title="the Bitrix24 sandbox")
        self._scopes = list(scopes)
        self._methods: dict[str, Method] = {"scope": self._scope}
        for family in _METHOD_FAMILIES:
            self._methods.update(family.METHODS)

    @property
    def list_order(self) -> ListOrder:
        """The default order and unknown order keys of list methods (local.bitrix24.lists)."""
        return self._store.list_order

    @list_order.setter
    def list_order(self, value: ListOrder) -> None:
        self._store.list_order = value

    # -- addresses ------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._http.base_url

    @property
    def webhook_url(self) -> str:
        """``http://127.0.0.1:PORT/rest/<user>/<code>/``; append the method name."""
        return f"{self.base_url}/rest/{self.user_id}/{self.webhook_code}/"

    # -- test controls --------------------------------------------------------------------------------------

    @property
    def request_log(self) -> list[RequestLogEntry]:
        """A snapshot of the requests answered so far, oldest first."""
        with self._lock:
            return list(self._request_log)

    def reset_log(self) -> None:
        with self._lock:
            self._request_log.clear()

    @property
    def timeline_comments(self) -> list[TimelineComment]:
        with self._lock:
            return list(self._store.comments)

    @property
    def deal_updates(self) -> list[DealUpdate]:
        """``crm.deal.update`` calls that reached an existing deal, oldest first."""
        with self._lock:
            return list(self._store.deal_updates)

    @property
    def item_updates(self) -> list[ItemUpdate]:
        """``crm.item.update`` calls that reached an existing deal or invoice, oldest first."""
        with self._lock:
            return list(self._store.item_updates)

    def set_deal(self, deal: Deal) -> None:
        """Insert or replace a deal; its DATE_MODIFY moves to now. User-field values set earlier stay."""
        with self._lock:
            self._store.deals[deal.id] = deal
            self._store.deal_modified[deal.id] = self._store.now()

    def set_smart_invoice(self, invoice: SmartInvoice) -> None:
        """Insert or replace a new invoice; its updatedTime moves to now. User-field values set earlier stay."""
        with self._lock:
            self._store.invoices[invoice.id] = invoice
            self._store.invoice_modified[invoice.id] = self._store.now()

    def deal_user_field_values(self, deal_id: int) -> dict[str, Any]:
        """The ``UF_CRM_*`` values stored on a deal (by ``crm.deal.update`` / ``crm.item.update``)."""
        with self._lock:
            return dict(self._store.deal_uf.get(deal_id, {}))

    def invoice_user_field_values(self, invoice_id: int) -> dict[str, Any]:
        """The ``UF_CRM_*`` values stored on a new invoice (by ``crm.item.update``)."""
        with self._lock:
            return dict(self._store.invoice_uf.get(invoice_id, {}))

    def fail_next(
        self,
        count: int,
        status: int = 503,
        error: str = "QUERY_LIMIT_EXCEEDED",
        description: str = "Too many requests",
    ) -> None:
        """Answer the next ``count`` HTTP requests (whatever their method) with this error."""
        with self._lock:
            self._faults.fail_next(count, InjectedFault(status, error, description))

    def set_outage(self, status: int | None = 502, error: str = "", description: str = "Bad Gateway") -> None:
        """Answer every HTTP request with this error until called with ``status=None`` (the portal is down:
        its front answers with a bare error page, here as the JSON shape the client reads)."""
        with self._lock:
            self._faults.set_outage(None if status is None else InjectedFault(status, error, description))

    def crash_on(self, method: str, **params: object) -> None:
        """Answer HTTP 500 to every request that calls ``method`` with these top-level parameters, directly or
        inside a batch (the whole batch fails), as a portal does when one command's PHP dies on a broken record."""
        with self._lock:
            self._faults.crash_on(method, params)

    def set_raw_fields(self, kind: str, entity_id: int, fields: Mapping[str, Any]) -> None:
        """Serve these values verbatim in place of the typed ones, as a portal does after another integration
        wrote them through REST: ``kind`` is ``deal``, ``invoice`` (camelCase keys), ``row`` (a product row by
        its ID, deal-style keys; new-invoice rows get them in camelCase), ``requisite`` or ``product``. A
        :class:`~local.bitrix24.wire.RawJson` value is written into the JSON as it is."""
        with self._lock:
            self._store.set_raw(kind, entity_id, fields)

    def set_fault_hook(self, hook: FaultHook | None) -> None:
        """Ask ``hook`` before serving each HTTP request (after the queued ``fail_next`` failures); None removes it."""
        with self._lock:
            self._faults.set_hook(hook)

    def block_method(self, method: str, seconds: float) -> None:
        """Block ``method`` (direct or inside a batch) with 429 OPERATION_TIME_LIMIT until now + ``seconds``."""
        with self._lock:
            self._operating.block(method.lower(), self._operating.now() + seconds)

    def operating_seconds(self, method: str) -> float:
        """The operating seconds ``method`` has accumulated within the current window."""
        with self._lock:
            return self._operating.used(method.lower(), self.operating_window_seconds)

    # -- HTTP entry point -----------------------------------------------------------------------------------

    def handle(self, http_method: str, target: str, content_type: str, body: bytes) -> tuple[int, str]:
        """Answer one HTTP request: returns the status and the JSON text."""
        arrived = time.time()
        delay = self.latency_seconds
        if delay > 0:
            time.sleep(delay)  # outside the lock: concurrent requests wait side by side, as over a network
        started = time.time()
        path = RestPath.parse(target)

        with self._lock:
            params: dict[str, Any] = {}
            early_error: RestError | None = None
            try:
                params = read_params(path.query, content_type, body)
            except RestError as exc:
                early_error = exc
            is_batch = path.method == "batch"
            try:
                status, payload = self._answer(path, params, early_error, started)
            except Exception as exc:  # a sandbox bug: answer like the portal's generic failure, keep serving
                status, payload = 500, {"error": "INTERNAL_SERVER_ERROR", "error_description": repr(exc)}
            self._request_log.append(
                RequestLogEntry(
                    path.method,
                    batch_methods(params.get("cmd")) if is_batch else (),
                    status,
                    http_method,
                    error="" if status < 400 else str(payload.get("error", "")),
                    batch_errors=batch_error_codes(payload) if is_batch else (),
                    params=copy.deepcopy(params),
                    started_at=arrived,
                )
            )
        return status, encode_json(payload)

    def _answer(
        self, path: RestPath, params: dict[str, Any], early_error: RestError | None, started: float
    ) -> tuple[int, dict[str, Any]]:
        injected = self._faults.instead(path.method)
        if injected is not None:
            return injected.answer()
        refusal = path.refusal(self.user_id, self.webhook_code)
        if refusal is not None:
            return refusal
        if not self._bucket.try_acquire():
            return 503, dict(QUERY_LIMIT_EXCEEDED)
        try:
            if early_error is not None:
                raise early_error
            if path.method == "batch":
                outcome = batch(params, self._invoke, self._timing)
            else:
                outcome = self._invoke(path.method, params)
        except OperatingLimitError as exc:
            timing = time_block(
                started,
                time.time(),
                profile=self.time_profile,
                operating=exc.operating,
                newest_reset_at=exc.reset_at,
                oldest_reset_at=exc.reset_at,
                blocked=True,
            )
            return exc.status, {**exc.body(), "time": timing}
        except CrashError:
            return 500, dict(INTERNAL_ERROR)
        except RestError as exc:
            return exc.status, exc.body()
        return 200, success(outcome, self._timing(started, outcome))

    def _timing(self, started: float, outcome: MethodResult) -> dict[str, Any]:
        """The answer's ``time`` block, idealised or as real portals write it (``local.bitrix24.limits``)."""
        reset_at = outcome.operating_reset_at
        if reset_at is None:
            reset_at = math.ceil(self._operating.now() + self.operating_window_seconds)
        return time_block(
            started,
            time.time(),
            profile=self.time_profile,
            operating=outcome.operating,
            newest_reset_at=reset_at,
            oldest_reset_at=outcome.oldest_reset_at,
            counted=not outcome.is_batch,
        )

    def _operating_cost(self, method: str) -> float:
        costs = self.operating_cost_seconds
        return float(costs.get(method, costs.get("*", 0.0)))

    def _invoke(self, method: str, params: dict[str, Any]) -> MethodResult:
        """Run one method (direct or inside a batch) under the operating limit, then charge its cost."""
        window = self.operating_window_seconds
        blocked = self._operating.blocked_until(method, self.operating_limit_seconds, window)
        if blocked is not None:
            raise OperatingLimitError(math.ceil(blocked), self._operating.used(method, window))
        self._faults.check_crash(method, params)
        handler = self._methods.get(method)
        if handler is None:
            # CRestServer answers an unknown method with 404 (STATUS_NOT_FOUND), in a batch as that command's error
            raise RestError(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
        try:
            outcome = handler(self._store, params)
        finally:
            self._operating.charge(method, self._operating_cost(method))
        outcome.operating = self._operating.used(method, window)
        outcome.operating_reset_at = math.ceil(self._operating.reset_at(method, window))
        outcome.oldest_reset_at = self._operating.oldest_reset_at(method, window)
        return outcome

    def _scope(self, store: PortalStore, params: dict[str, Any]) -> MethodResult:
        """``scope``: the scopes granted to this incoming webhook (without ``full``)."""
        return MethodResult(list(self._scopes))
