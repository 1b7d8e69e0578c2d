"""A local stand-in for a Bitrix24 cloud portal's incoming-webhook REST API, served over real HTTP.

It serves the sample portal from :mod:`local.seed` at ``http://127.0.0.1:<port>/rest/<user>/<code>/<method>``
with the documented response shapes: ``crm.deal.get`` values are strings, product-row figures are JSON
numbers, errors are ``{"error", "error_description"}`` with the documented status codes, and ``batch``
answers HTTP 200 with empty sections as ``[]``. It also imitates the leaky-bucket rate limit and lets tests
inject failures.

    with Bitrix24Sandbox() as portal:
        requests.post(portal.webhook_url + "crm.deal.get", json={"id": 1001})
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from local.bitrix24_sandbox_protocol import encode_json, parse_command_query, parse_query, split_command
from local.seed import (
    COMPANIES,
    DEALS,
    PRODUCTS,
    REQUISITES,
    WEBHOOK_CODE,
    WEBHOOK_USER_ID,
    Company,
    Deal,
    Product,
    ProductRow,
    Requisite,
)

PORTAL_TZ = timezone(timedelta(hours=3))
PAGE_SIZE = 50
MAX_BATCH_COMMANDS = 50
CATALOG_IBLOCK_ID = 23
OPERATING_WINDOW_SECONDS = 600
ENTITY_TYPE_DEAL = 2
ENTITY_TYPE_COMPANY = 4

# Catalog VAT rates as a Russian portal ships them (catalog.vat.list): id → rate, None meaning "without VAT".
VAT_IDS: dict[int, Decimal | None] = {
    1: None,
    2: Decimal("0"),
    3: Decimal("10"),
    4: Decimal("20"),
    5: Decimal("22"),
}

_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)
_BASE_DATE = datetime(2025, 3, 3, 10, 0, tzinfo=PORTAL_TZ)


@dataclass(frozen=True)
class RequestLogEntry:
    """One HTTP request the sandbox answered."""

    method: str  # the REST method called, lower-case ("batch", "crm.deal.get"); "" when the path had none
    batch_methods: tuple[str, ...]  # for "batch": the commands' methods, in order; otherwise ()
    status: int  # the HTTP status answered
    http_method: str = "POST"


@dataclass(frozen=True)
class TimelineComment:
    id: int
    entity_type: str  # as sent, e.g. "deal"
    entity_id: int
    comment: str


@dataclass(frozen=True)
class _Failure:
    status: int
    error: str
    description: str


@dataclass
class _MethodResult:
    result: Any
    total: int | None = None
    next: int | None = None


class RestError(Exception):
    """A method-level failure: answered as ``{"error": ..., "error_description": ...}`` with ``status``."""

    def __init__(self, status: int, error: str | int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description}


def _not_found() -> RestError:
    return RestError(400, "", "Not found")


class LeakyBucket:
    """Bitrix24's request-rate limit: each request adds 1, the bucket drains ``drain_per_second``."""

    def __init__(self, drain_per_second: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._drain = drain_per_second
        self._burst = burst
        self._clock = clock
        self._level = 0.0
        self._stamp = clock()

    def try_acquire(self) -> bool:
        now = self._clock()
        self._level = max(0.0, self._level - (now - self._stamp) * self._drain)
        self._stamp = now
        if self._level + 1 > self._burst:
            return False
        self._level += 1
        return True


# ---- value helpers ----------------------------------------------------------------------------------------


def _money(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _money_text(value: Decimal) -> str:
    return str(_money(value))


def _yn(flag: bool) -> str:
    return "Y" if flag else "N"


def _iso(moment: datetime) -> str:
    return moment.astimezone(PORTAL_TZ).isoformat(timespec="seconds")


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def _param(params: Mapping[str, Any], name: str) -> Any:
    """A parameter by name, ignoring case (``id``/``ID``), as Bitrix24's crm methods accept both."""
    if name in params:
        return params[name]
    lowered = name.lower()
    for key, value in params.items():
        if key.lower() == lowered:
            return value
    return None


def _required_id(params: Mapping[str, Any], name: str, description: str) -> int:
    value = _as_int(_param(params, name))
    if value is None or value <= 0:
        raise RestError(400, "", description)
    return value


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "y", "true", "yes"}
    return bool(value)


def _time_block(start: float, finish: float, processing: float | None = None) -> dict[str, Any]:
    return {
        "start": start,
        "finish": finish,
        "duration": finish - start,
        "processing": finish - start if processing is None else processing,
        "date_start": _iso(datetime.fromtimestamp(start, PORTAL_TZ)),
        "date_finish": _iso(datetime.fromtimestamp(finish, PORTAL_TZ)),
        "operating_reset_at": int(start) + OPERATING_WINDOW_SECONDS,
        "operating": 0,
    }


def _vat_id(rate: Decimal | None) -> int | None:
    for vat_id, vat_rate in VAT_IDS.items():
        if vat_rate == rate:
            return vat_id
    return None


# ---- filtering lists (crm.requisite.list, catalog.product.list) -----------------------------------------

_FILTER_KEY_RE = re.compile(r"^(>=|<=|!=|!@|=|!|>|<|@)?(.+)$")


def _comparable(value: Any, numeric: bool) -> Any:
    if numeric:
        try:
            return Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            return None
    return "" if value is None else str(value)


def _matches(row: Mapping[str, Any], key: str, wanted: Any, numeric_fields: frozenset[str]) -> bool:
    match = _FILTER_KEY_RE.match(key)
    if match is None or match.group(2) not in row:
        raise RestError(400, "", f"Unknown field definition `{key}`")
    operator, field_name = match.group(1) or "=", match.group(2)
    numeric = field_name in numeric_fields
    actual = _comparable(row[field_name], numeric)
    if operator in {"@", "!@"} or isinstance(wanted, list):
        options = wanted if isinstance(wanted, list) else [wanted]
        found = actual in {_comparable(option, numeric) for option in options}
        return not found if operator.startswith("!") else found
    expected = _comparable(wanted, numeric)
    if expected is None or actual is None:
        return False
    comparisons: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: bool(a == b),
        "!": lambda a, b: bool(a != b),
        "!=": lambda a, b: bool(a != b),
        ">": lambda a, b: bool(a > b),
        ">=": lambda a, b: bool(a >= b),
        "<": lambda a, b: bool(a < b),
        "<=": lambda a, b: bool(a <= b),
    }
    return comparisons[operator](actual, expected)


def _sort_key(value: Any, numeric: bool) -> tuple[int, Any]:
    comparable = _comparable(value, numeric)
    if comparable is None:
        return (0, Decimal(0) if numeric else "")
    return (1, comparable)


def _select_list(select: Any) -> list[str]:
    if isinstance(select, list):
        return [str(item) for item in select]
    if isinstance(select, dict):
        return [str(item) for item in select.values()]
    if isinstance(select, str) and select:
        return [select]
    return []


def _list_rows(
    rows: list[dict[str, Any]],
    params: Mapping[str, Any],
    *,
    id_field: str,
    numeric_fields: frozenset[str],
    always_selected: tuple[str, ...],
    filter_value: Any = None,
) -> _MethodResult:
    """Filter, order, page and select like a Bitrix24 list method (50 per page, ``start=-1`` skips total)."""
    filters = _param(params, "filter") if filter_value is None else filter_value
    if filters is None or filters == "":
        filters = {}
    if not isinstance(filters, dict):
        raise RestError(400, "", "Parameter 'filter' must be array.")
    selected = [row for row in rows if all(_matches(row, k, v, numeric_fields) for k, v in filters.items())]

    order = _param(params, "order")
    if isinstance(order, dict) and order:
        for field_name, direction in reversed(list(order.items())):
            if selected and field_name not in selected[0]:
                continue
            numeric = field_name in numeric_fields
            keys = {id(row): _sort_key(row[field_name], numeric) for row in selected}
            selected.sort(key=lambda row: keys[id(row)], reverse=str(direction).upper() == "DESC")
    else:
        selected.sort(key=lambda row: int(row[id_field]))

    start = _as_int(_param(params, "start")) or 0
    count_total = start != -1
    start = max(start, 0)
    page = selected[start : start + PAGE_SIZE]
    fields = _select_list(_param(params, "select"))
    if fields and "*" not in fields:
        keep = [*always_selected, *fields]
        page = [{k: v for k, v in row.items() if k in keep} for row in page]
    total = len(selected) if count_total else None
    has_next = count_total and start + PAGE_SIZE < len(selected)
    return _MethodResult(page, total=total, next=start + PAGE_SIZE if has_next else None)


# ---- the sandbox ------------------------------------------------------------------------------------------

Handler = Callable[[dict[str, Any]], _MethodResult]


class Bitrix24Sandbox:
    """An HTTP server imitating one Bitrix24 portal's incoming webhook (see the module docstring)."""

    def __init__(
        self,
        *,
        deals: Iterable[Deal] = DEALS,
        companies: Iterable[Company] = COMPANIES,
        requisites: Iterable[Requisite] = REQUISITES,
        products: Iterable[Product] = PRODUCTS,
        host: str = "127.0.0.1",
        port: int = 0,
        drain_per_second: float = 2.0,
        burst: int = 50,
    ) -> None:
        self._lock = threading.RLock()
        self._deals: dict[int, Deal] = {deal.id: deal for deal in deals}
        self._modified: dict[int, datetime] = {deal_id: _BASE_DATE for deal_id in self._deals}
        self._companies: dict[int, Company] = {company.id: company for company in companies}
        self._requisites: dict[int, Requisite] = {requisite.id: requisite for requisite in requisites}
        self._products: dict[int, Product] = {product.id: product for product in products}
        self._host = host
        self._port = port
        self._bucket = LeakyBucket(drain_per_second, burst)
        self._failures: list[_Failure] = []
        self._request_log: list[RequestLogEntry] = []
        self._comments: list[TimelineComment] = []
        self._next_comment_id = 1
        self._server: _SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._handlers: dict[str, Handler] = {
            "crm.deal.get": self._deal_get,
            "crm.deal.productrows.get": self._deal_productrows_get,
            "crm.requisite.link.get": self._requisite_link_get,
            "crm.requisite.list": self._requisite_list,
            "crm.requisite.get": self._requisite_get,
            "crm.company.get": self._company_get,
            "catalog.product.get": self._product_get,
            "catalog.product.list": self._product_list,
            "catalog.vat.list": self._vat_list,
            "crm.timeline.comment.add": self._timeline_comment_add,
        }

    # -- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> Bitrix24Sandbox:
        if self._server is not None:
            return self
        server = _SandboxHTTPServer((self._host, self._port), _RequestHandler)
        server.sandbox = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="bitrix24-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Bitrix24Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Bitrix24 sandbox is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def webhook_url(self) -> str:
        """``http://127.0.0.1:PORT/rest/<user>/<code>/``; append the method name."""
        return f"{self.base_url}/rest/{WEBHOOK_USER_ID}/{WEBHOOK_CODE}/"

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
            return list(self._comments)

    def set_deal(self, deal: Deal) -> None:
        """Insert or replace a deal; its DATE_MODIFY moves to now."""
        with self._lock:
            self._deals[deal.id] = deal
            self._modified[deal.id] = datetime.now(PORTAL_TZ)

    def fail_next(
        self,
        count: int,
        status: int = 503,
        error: str = "QUERY_LIMIT_EXCEEDED",
        description: str = "Too many requests",
    ) -> None:
        """Answer the next ``count`` HTTP requests (whatever their method) with this error."""
        with self._lock:
            self._failures.extend(_Failure(status, error, description) for _ in range(count))

    # -- HTTP entry point -----------------------------------------------------------------------------------

    def handle(self, http_method: str, target: str, content_type: str, body: bytes) -> tuple[int, str]:
        """Answer one HTTP request: returns the status and the JSON text."""
        started = time.time()
        parts = urlsplit(target)
        segments = [unquote(s) for s in parts.path.split("/")]
        method = ""
        if len(segments) >= 5 and segments[1] == "rest":
            method = segments[4].strip().lower().removesuffix(".json")

        with self._lock:
            batch_methods: tuple[str, ...] = ()
            params: dict[str, Any] = {}
            early_error: RestError | None = None
            try:
                params = self._read_params(parts.query, content_type, body)
            except RestError as exc:
                early_error = exc
            if method == "batch":
                batch_methods = _batch_methods(params.get("cmd"))

            try:
                status, payload = self._answer(segments, method, params, early_error, started)
            except Exception as exc:  # a sandbox bug: answer like the portal's generic failure, keep serving
                status, payload = 500, {"error": "INTERNAL_SERVER_ERROR", "error_description": repr(exc)}
            self._request_log.append(RequestLogEntry(method, batch_methods, status, http_method))
        return status, encode_json(payload)

    def _answer(
        self,
        segments: list[str],
        method: str,
        params: dict[str, Any],
        early_error: RestError | None,
        started: float,
    ) -> tuple[int, dict[str, Any]]:
        if self._failures:
            failure = self._failures.pop(0)
            return failure.status, {"error": failure.error, "error_description": failure.description}
        if len(segments) < 5 or segments[1] != "rest":
            return 404, {"error": "NOT_FOUND", "error_description": "Use /rest/<user>/<code>/<method>"}
        if segments[2] != WEBHOOK_USER_ID or segments[3] != WEBHOOK_CODE:
            return 401, {"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"}
        if not self._bucket.try_acquire():
            return 503, {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
        try:
            if early_error is not None:
                raise early_error
            outcome = self._batch(params) if method == "batch" else self._call(method, params)
        except RestError as exc:
            return exc.status, exc.body()
        payload: dict[str, Any] = {"result": outcome.result}
        if outcome.next is not None:
            payload["next"] = outcome.next
        if outcome.total is not None:
            payload["total"] = outcome.total
        payload["time"] = _time_block(started, time.time())
        return 200, payload

    @staticmethod
    def _read_params(query: str, content_type: str, body: bytes) -> dict[str, Any]:
        params = parse_query(query)
        if not body:
            return params
        text = body.decode("utf-8", errors="replace")
        if "json" in content_type.lower():
            try:
                decoded = json.loads(text)
            except json.JSONDecodeError as exc:
                raise RestError(400, "INVALID_REQUEST", f"Invalid JSON body: {exc.msg}") from exc
            if not isinstance(decoded, dict):
                raise RestError(400, "INVALID_REQUEST", "The JSON body must be an object")
            params.update(decoded)
        else:
            params.update(parse_query(text))
        return params

    def _call(self, method: str, params: dict[str, Any]) -> _MethodResult:
        handler = self._handlers.get(method)
        if handler is None:
            raise RestError(400, "ERROR_METHOD_NOT_FOUND", "Method not found!")
        return handler(params)

    # -- batch ----------------------------------------------------------------------------------------------

    def _batch(self, params: dict[str, Any]) -> _MethodResult:
        commands = _batch_commands(params.get("cmd"))
        if len(commands) > MAX_BATCH_COMMANDS:
            raise RestError(400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded")
        parsed = [(key, *split_command(command)) for key, command in commands]
        if any(method == "batch" for _, method, _ in parsed):
            raise RestError(405, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage")
        halt = _truthy(params.get("halt", 0))

        results: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        totals: dict[str, Any] = {}
        nexts: dict[str, Any] = {}
        times: dict[str, Any] = {}
        sections = {"result": results, "result_total": totals, "result_next": nexts}
        for key, method, query in parsed:
            started = time.time()
            try:
                outcome = self._call(method, parse_command_query(query, sections))
            except RestError as exc:
                errors[key] = exc.body()
                if halt:
                    break
                continue
            results[key] = outcome.result
            if outcome.total is not None:
                totals[key] = outcome.total
            if outcome.next is not None:
                nexts[key] = outcome.next
            times[key] = _time_block(started, time.time())
        # PHP encodes an empty array as [], so every empty section is a JSON list, not an object.
        return _MethodResult(
            {
                "result": results or [],
                "result_error": errors or [],
                "result_total": totals or [],
                "result_next": nexts or [],
                "result_time": times or [],
            }
        )

    # -- crm.deal.* -----------------------------------------------------------------------------------------

    def _find_deal(self, params: Mapping[str, Any], description: str) -> Deal:
        deal = self._deals.get(_required_id(params, "id", description))
        if deal is None:
            raise _not_found()
        return deal

    def _deal_get(self, params: dict[str, Any]) -> _MethodResult:
        deal = self._find_deal(params, "ID is not defined or invalid.")
        modified = _iso(self._modified.get(deal.id, _BASE_DATE))
        closed = deal.stage_semantic_id in {"S", "F"}
        probability = {"S": "100", "F": "0"}.get(deal.stage_semantic_id, "50")
        return _MethodResult(
            {
                "ID": str(deal.id),
                "TITLE": deal.title,
                "TYPE_ID": "SALE",
                "STAGE_ID": deal.stage_id,
                "PROBABILITY": probability,
                "CURRENCY_ID": deal.currency_id,
                "OPPORTUNITY": _money_text(deal.opportunity),
                "IS_MANUAL_OPPORTUNITY": _yn(deal.is_manual_opportunity),
                "TAX_VALUE": _money_text(deal.tax_value),
                "LEAD_ID": None,
                "COMPANY_ID": str(deal.company_id),
                "CONTACT_ID": None,
                "QUOTE_ID": None,
                "BEGINDATE": _iso(_BASE_DATE.replace(hour=3)),
                "CLOSEDATE": _iso(_BASE_DATE.replace(hour=3) + timedelta(days=7)),
                "ASSIGNED_BY_ID": "1",
                "CREATED_BY_ID": "1",
                "MODIFY_BY_ID": "1",
                "DATE_CREATE": _iso(_BASE_DATE),
                "DATE_MODIFY": modified,
                "OPENED": "Y",
                "CLOSED": _yn(closed),
                "COMMENTS": "",
                "ADDITIONAL_INFO": None,
                "LOCATION_ID": None,
                "CATEGORY_ID": str(deal.category_id),
                "STAGE_SEMANTIC_ID": deal.stage_semantic_id,
                "IS_NEW": "N",
                "IS_RECURRING": "N",
                "IS_RETURN_CUSTOMER": "N",
                "IS_REPEATED_APPROACH": "N",
                "SOURCE_ID": "WEB",
                "SOURCE_DESCRIPTION": None,
                "ORIGINATOR_ID": None,
                "ORIGIN_ID": None,
                "MOVED_BY_ID": "1",
                "MOVED_TIME": modified,
                "LAST_ACTIVITY_TIME": modified,
                "UTM_SOURCE": None,
                "UTM_MEDIUM": None,
                "UTM_CAMPAIGN": None,
                "UTM_CONTENT": None,
                "UTM_TERM": None,
                "LAST_ACTIVITY_BY": "1",
            }
        )

    def _deal_productrows_get(self, params: dict[str, Any]) -> _MethodResult:
        deal = self._find_deal(params, "The parameter id is invalid or not defined.")
        return _MethodResult([self._product_row(deal, row, index) for index, row in enumerate(deal.rows)])

    def _product_row(self, deal: Deal, row: ProductRow, index: int) -> dict[str, Any]:
        rates = product_row_prices(row)
        product = self._products.get(row.product_id)
        return {
            "ID": str(row.id),
            "OWNER_ID": str(deal.id),
            "OWNER_TYPE": "D",
            "PRODUCT_ID": row.product_id,
            "PRODUCT_NAME": row.product_name,
            "ORIGINAL_PRODUCT_NAME": product.name if product is not None else row.product_name,
            "PRODUCT_DESCRIPTION": None,
            "PRICE": rates["PRICE"],
            "PRICE_EXCLUSIVE": rates["PRICE_EXCLUSIVE"],
            "PRICE_NETTO": rates["PRICE_NETTO"],
            "PRICE_BRUTTO": rates["PRICE_BRUTTO"],
            "PRICE_ACCOUNT": str(rates["PRICE"]),
            "QUANTITY": row.quantity,
            "DISCOUNT_TYPE_ID": 2,
            "DISCOUNT_RATE": row.discount_rate,
            "DISCOUNT_SUM": rates["DISCOUNT_SUM"],
            "TAX_RATE": row.tax_rate,
            "TAX_INCLUDED": _yn(row.tax_included),
            "CUSTOMIZED": "Y",
            "MEASURE_CODE": row.measure_code,
            "MEASURE_NAME": row.measure_name,
            "SORT": (index + 1) * 10,
            "XML_ID": f"sale_basket_{row.id}",
            "TYPE": 1,
            "STORE_ID": 0,
        }

    # -- requisites and companies ---------------------------------------------------------------------------

    def _requisite_link_get(self, params: dict[str, Any]) -> _MethodResult:
        entity_type_id = _required_id(params, "entityTypeId", "entityTypeId is not defined or invalid.")
        entity_id = _required_id(params, "entityId", "entityId is not defined or invalid.")
        deal = self._deals.get(entity_id) if entity_type_id == ENTITY_TYPE_DEAL else None
        if deal is None or deal.requisite_id is None:
            raise _not_found()
        return _MethodResult(
            {
                "ENTITY_TYPE_ID": entity_type_id,
                "ENTITY_ID": entity_id,
                "REQUISITE_ID": str(deal.requisite_id),
                "BANK_DETAIL_ID": "0",
                "MC_REQUISITE_ID": str(deal.my_company_requisite_id),
                "MC_BANK_DETAIL_ID": "0",
            }
        )

    def _requisite_list(self, params: dict[str, Any]) -> _MethodResult:
        rows = [_requisite_row(requisite) for requisite in self._requisites.values()]
        return _list_rows(
            rows,
            params,
            id_field="ID",
            numeric_fields=frozenset({"ID", "ENTITY_TYPE_ID", "ENTITY_ID", "PRESET_ID", "SORT"}),
            always_selected=("ID",),
        )

    def _requisite_get(self, params: dict[str, Any]) -> _MethodResult:
        requisite = self._requisites.get(_required_id(params, "id", "ID is not defined or invalid."))
        if requisite is None:
            raise _not_found()
        return _MethodResult(_requisite_row(requisite))

    def _company_get(self, params: dict[str, Any]) -> _MethodResult:
        company = self._companies.get(_required_id(params, "id", "ID is not defined or invalid."))
        if company is None:
            raise _not_found()
        return _MethodResult(_company_row(company))

    # -- catalog --------------------------------------------------------------------------------------------

    def _product_get(self, params: dict[str, Any]) -> _MethodResult:
        product_id = _as_int(_param(params, "id"))
        product = self._products.get(product_id) if product_id is not None else None
        if product is None:
            # Documented catalog.product.get error (numeric code); the real API answers so for a missing id.
            raise RestError(400, 200040300010, "Access Denied")
        return _MethodResult({"product": _product_row(product)})

    def _product_list(self, params: dict[str, Any]) -> _MethodResult:
        filters = params.get("filter")
        if not isinstance(filters, dict) or "iblockId" not in filters:
            raise RestError(400, 0, "Required filter fields: iblockId")
        rows = [_product_row(product) for product in self._products.values()]
        listed = _list_rows(
            rows,
            params,
            id_field="id",
            numeric_fields=frozenset({"id", "iblockId", "vatId", "measure", "type", "sort"}),
            always_selected=("id", "iblockId"),
            filter_value=filters,
        )
        return _MethodResult({"products": listed.result}, total=listed.total, next=listed.next)

    def _vat_list(self, params: dict[str, Any]) -> _MethodResult:
        vats = [
            {
                "id": vat_id,
                "name": "Без НДС" if rate is None else f"НДС {rate}%",
                "rate": rate,
                "excludeVat": _yn(rate is None),
                "active": "Y",
                "sort": vat_id * 100,
                "timestampX": _iso(_BASE_DATE),
            }
            for vat_id, rate in VAT_IDS.items()
        ]
        return _MethodResult({"vats": vats}, total=len(vats))

    # -- timeline -------------------------------------------------------------------------------------------

    def _timeline_comment_add(self, params: dict[str, Any]) -> _MethodResult:
        fields = params.get("fields")  # lower-case only, since crm 23.100.0
        if not isinstance(fields, dict):
            raise RestError(400, "", "Parameter 'fields' must be array.")
        entity_id = _as_int(fields.get("ENTITY_ID"))
        entity_type = fields.get("ENTITY_TYPE")
        comment = fields.get("COMMENT")
        if entity_id is None or entity_id <= 0:
            raise RestError(400, "", "ENTITY_ID is not defined or invalid.")
        if not isinstance(entity_type, str) or not entity_type.strip():
            raise RestError(400, "", "ENTITY_TYPE is not defined or invalid.")
        if not isinstance(comment, str) or not comment.strip():
            raise RestError(400, "", "COMMENT is not defined or empty.")
        if entity_type.lower() == "deal" and entity_id not in self._deals:
            raise _not_found()
        comment_id = self._next_comment_id
        self._next_comment_id += 1
        self._comments.append(TimelineComment(comment_id, entity_type, entity_id, comment))
        return _MethodResult(comment_id)


# ---- row builders -----------------------------------------------------------------------------------------


def product_row_prices(row: ProductRow) -> dict[str, Decimal]:
    """Per-unit price fields of a product row, derived as Bitrix24 stores them (reference §4.1).

    PRICE is tax-inclusive after discount; PRICE_EXCLUSIVE removes the tax; a percent discount applies to the
    exclusive price, so PRICE_NETTO = PRICE_EXCLUSIVE / (1 - rate); PRICE_BRUTTO adds the tax back to netto.
    """
    tax = (row.tax_rate or Decimal(0)) / _HUNDRED
    price = _money(row.price)
    exclusive = _money(price / (1 + tax))
    discount = row.discount_rate / _HUNDRED
    netto = _money(exclusive / (1 - discount)) if discount else exclusive
    return {
        "PRICE": price,
        "PRICE_EXCLUSIVE": exclusive,
        "PRICE_NETTO": netto,
        "PRICE_BRUTTO": _money(netto * (1 + tax)),
        "DISCOUNT_SUM": netto - exclusive,
    }


def _requisite_row(requisite: Requisite) -> dict[str, Any]:
    return {
        "ID": str(requisite.id),
        "ENTITY_TYPE_ID": str(requisite.entity_type_id),
        "ENTITY_ID": str(requisite.entity_id),
        "PRESET_ID": str(requisite.preset_id),
        "NAME": requisite.name,
        "ACTIVE": "Y",
        "SORT": "500",
        "RQ_COMPANY_NAME": requisite.company_name,
        "RQ_COMPANY_FULL_NAME": requisite.company_full_name,
        "RQ_INN": requisite.inn,
        "RQ_KPP": requisite.kpp,
        "RQ_OGRN": requisite.ogrn,
        "RQ_OGRNIP": requisite.ogrnip,
        "RQ_FIRST_NAME": requisite.first_name,
        "RQ_LAST_NAME": requisite.last_name,
        "RQ_SECOND_NAME": requisite.second_name,
    }


_ADDRESS_SUFFIXES = (
    "",
    "_2",
    "_CITY",
    "_POSTAL_CODE",
    "_REGION",
    "_PROVINCE",
    "_COUNTRY",
    "_COUNTRY_CODE",
    "_LOC_ADDR_ID",
)


def _company_row(company: Company) -> dict[str, Any]:
    row: dict[str, Any] = {
        "ID": str(company.id),
        "COMPANY_TYPE": "" if company.is_my_company else "CUSTOMER",
        "TITLE": company.title,
        "LOGO": None,
        "LEAD_ID": None,
        "HAS_PHONE": "N",
        "HAS_EMAIL": "N",
        "HAS_IMOL": "N",
        "ASSIGNED_BY_ID": "1",
        "CREATED_BY_ID": "1",
        "MODIFY_BY_ID": "1",
        "BANKING_DETAILS": None,
        "INDUSTRY": None,
        "REVENUE": "0",
        "CURRENCY_ID": "RUB",
        "EMPLOYEES": None,
        "COMMENTS": "",
        "DATE_CREATE": _iso(_BASE_DATE),
        "DATE_MODIFY": _iso(_BASE_DATE),
        "OPENED": "Y",
        "IS_MY_COMPANY": _yn(company.is_my_company),
        "ORIGINATOR_ID": None,
        "ORIGIN_ID": None,
        "ORIGIN_VERSION": None,
    }
    for prefix in ("ADDRESS", "REG_ADDRESS"):
        for suffix in _ADDRESS_SUFFIXES:
            row[prefix + suffix] = None
    row["ADDRESS_LEGAL"] = None
    for utm in ("UTM_SOURCE", "UTM_MEDIUM", "UTM_CAMPAIGN", "UTM_CONTENT", "UTM_TERM"):
        row[utm] = None
    row["LAST_ACTIVITY_BY"] = "1"
    row["LAST_ACTIVITY_TIME"] = _iso(_BASE_DATE)
    return row


def _product_row(product: Product) -> dict[str, Any]:
    return {
        "active": "Y",
        "available": "Y",
        "bundle": "N",
        "canBuyZero": "Y",
        "code": f"product_{product.id}",
        "createdBy": 1,
        "dateActiveFrom": None,
        "dateActiveTo": None,
        "dateCreate": _iso(_BASE_DATE),
        "detailPicture": None,
        "detailText": None,
        "detailTextType": "text",
        "height": None,
        "iblockId": CATALOG_IBLOCK_ID,
        "iblockSectionId": None,
        "id": product.id,
        "length": None,
        "measure": 5,
        "modifiedBy": 1,
        "name": product.name,
        "previewPicture": None,
        "previewText": None,
        "previewTextType": "text",
        "purchasingCurrency": "RUB",
        "purchasingPrice": None,
        "quantity": 0,
        "quantityReserved": 0,
        "quantityTrace": "D",
        "sort": 500,
        "subscribe": "D",
        "timestampX": _iso(_BASE_DATE),
        "type": 1,
        "vatId": _vat_id(product.vat_rate),
        "vatIncluded": _yn(product.vat_included),
        "weight": None,
        "width": None,
        "xmlId": product.xml_id,
    }


def _batch_commands(cmd: Any) -> list[tuple[str, str]]:
    if isinstance(cmd, dict):
        return [(str(key), str(value)) for key, value in cmd.items()]
    if isinstance(cmd, list):
        return [(str(index), str(value)) for index, value in enumerate(cmd)]
    if cmd is None or cmd == "":
        return []
    raise RestError(400, "", "Parameter 'cmd' must be array.")


def _batch_methods(cmd: Any) -> tuple[str, ...]:
    try:
        return tuple(split_command(command)[0] for _, command in _batch_commands(cmd))
    except RestError:
        return ()


# ---- HTTP plumbing ----------------------------------------------------------------------------------------


class _SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    sandbox: Bitrix24Sandbox


class _RequestHandler(BaseHTTPRequestHandler):
    server: _SandboxHTTPServer

    def do_GET(self) -> None:
        self._respond(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._respond(self.rfile.read(length) if length > 0 else b"")

    def _respond(self, body: bytes) -> None:
        content_type = self.headers.get("Content-Type") or ""
        status, text = self.server.sandbox.handle(self.command, self.path, content_type, body)
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""
