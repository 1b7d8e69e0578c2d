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
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fnmatch import fnmatchcase
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from local.bitrix24_batch import run_batch
from local.bitrix24_lists import ListOrder, UnknownOrderField, ordered
from local.bitrix24_sandbox_protocol import (
    encode_json,
    parse_query,
    split_command,
    uf_name_from_camel,
    uf_name_to_camel,
)
from local.bitrix24_time import TimeProfile, time_block
from local.seed import (
    COMPANIES,
    DEALS,
    MY_COMPANY,
    PRODUCTS,
    REQUISITES,
    SMART_INVOICES,
    WEBHOOK_CODE,
    WEBHOOK_USER_ID,
    Company,
    Deal,
    Product,
    ProductRow,
    Requisite,
    SmartInvoice,
)

PORTAL_TZ = timezone(timedelta(hours=3))
PAGE_SIZE = 50
MAX_BATCH_COMMANDS = 50
CATALOG_IBLOCK_ID = 23
OPERATING_WINDOW_SECONDS = 600
ENTITY_TYPE_DEAL = 2
ENTITY_TYPE_COMPANY = 4
ENTITY_TYPE_OLD_INVOICE = 5
ENTITY_TYPE_SMART_INVOICE = 31
OWNER_TYPE_DEAL = "D"
OWNER_TYPE_SMART_INVOICE = "SI"
OPERATION_TIME_LIMIT = "OPERATION_TIME_LIMIT"
OPERATION_TIME_LIMIT_DESCRIPTION = "Method is blocked due to operation time limit."
SMART_INVOICE_TIMELINE_TYPES = frozenset({"smart_invoice", "dynamic_31"})

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
class Stage:
    """One row of ``crm.status.list``: a deal or invoice stage of one funnel."""

    entity_id: str  # DEAL_STAGE, DEAL_STAGE_1, SMART_INVOICE_STAGE_1
    status_id: str  # the stage ID the entities carry: WON, C1:WON, DT31_1:N
    name: str
    sort: int
    semantics: str | None  # "S" success, "F" failure, None in progress (stageSemanticId "P")
    category_id: int

    @property
    def semantic_id(self) -> str:
        return self.semantics or "P"


# The stages the seed uses. Invoice stage DT31_1:S counts as success here, as the seed's invoice 501 says.
STAGES: tuple[Stage, ...] = (
    Stage("DEAL_STAGE", "NEW", "Новая", 10, None, 0),
    Stage("DEAL_STAGE", "PREPARATION", "Подготовка документов", 20, None, 0),
    Stage("DEAL_STAGE", "WON", "Сделка успешна", 60, "S", 0),
    Stage("DEAL_STAGE", "LOSE", "Сделка провалена", 70, "F", 0),
    Stage("DEAL_STAGE_1", "C1:NEW", "Новая", 10, None, 1),
    Stage("DEAL_STAGE_1", "C1:UC_INVOICE", "Выставлен счёт", 20, None, 1),
    Stage("DEAL_STAGE_1", "C1:WON", "Сделка успешна", 60, "S", 1),
    Stage("DEAL_STAGE_1", "C1:LOSE", "Сделка провалена", 70, "F", 1),
    Stage("SMART_INVOICE_STAGE_1", "DT31_1:N", "Новый", 10, None, 1),
    Stage("SMART_INVOICE_STAGE_1", "DT31_1:S", "Отправлен клиенту", 20, "S", 1),
    Stage("SMART_INVOICE_STAGE_1", "DT31_1:P", "Оплачен", 30, "S", 1),
    Stage("SMART_INVOICE_STAGE_1", "DT31_1:D", "Не оплачен", 40, "F", 1),
)


def deal_stage_entity(category_id: int) -> str:
    return "DEAL_STAGE" if category_id == 0 else f"DEAL_STAGE_{category_id}"


def smart_invoice_stage_entity(category_id: int) -> str:
    return f"SMART_INVOICE_STAGE_{category_id}"


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


@dataclass(frozen=True)
class TimelineComment:
    id: int
    entity_type: str  # as sent, e.g. "deal"
    entity_id: int
    comment: str


@dataclass(frozen=True)
class DealUpdate:
    """One ``crm.deal.update`` call that reached an existing deal; ``fields`` exactly as sent."""

    deal_id: int
    fields: dict[str, Any]


@dataclass(frozen=True)
class ItemUpdate:
    """One ``crm.item.update`` call that reached an existing item; ``fields`` exactly as sent."""

    entity_type_id: int
    item_id: int
    fields: dict[str, Any]


@dataclass(frozen=True)
class _Failure:
    status: int
    error: str
    description: str


InjectedFault = _Failure
FaultHook = Callable[[str], InjectedFault | None]
"""Called for every HTTP request with its REST method (lower-case, ``"batch"`` for a batch): a failure to answer
with instead, or None to serve it."""


def injected_fault(status: int, error: str, description: str) -> InjectedFault:
    """A failure for a `FaultHook` to return: the HTTP status and the ``{"error", "error_description"}`` body."""
    return _Failure(status, error, description)


@dataclass
class _MethodResult:
    result: Any
    total: int | None = None
    next: int | None = None
    operating: float = 0.0  # accumulated operating seconds of the method, for the answer's time block
    operating_reset_at: int | None = None  # None: the window from now
    oldest_reset_at: float | None = None  # when the oldest live charge ages out (None: nothing counted)
    is_batch: bool = False  # the batch call itself, never charged


class _Crash(Exception):
    """A command the test made the portal die on (`crash_on`): the whole HTTP request answers 500."""


class RestError(Exception):
    """A method-level failure: answered as ``{"error": ..., "error_description": ...}`` with ``status``."""

    def __init__(self, status: int, error: str | int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description}


class OperatingLimitError(RestError):
    """429 ``OPERATION_TIME_LIMIT``: the method is blocked until ``reset_at`` (unix seconds)."""

    def __init__(self, reset_at: int, operating: float) -> None:
        super().__init__(429, OPERATION_TIME_LIMIT, OPERATION_TIME_LIMIT_DESCRIPTION)
        self.reset_at = reset_at
        self.operating = operating


def _not_found() -> RestError:
    return RestError(400, "", "Not found")


def _item_not_found() -> RestError:
    return RestError(400, "NOT_FOUND", "Element not found")


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


class OperatingMeter:
    """Bitrix24's per-method operating-time limit (reference §3.2) over a rolling window.

    Each call of a method is charged seconds at the moment it runs; a charge counts while it is younger than the
    window. Once a method's live charges add up to more than the limit, it is blocked until enough of the oldest
    charges have aged out to bring the sum back within the limit. :meth:`block` adds a manual block.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._charges: dict[str, deque[tuple[float, float]]] = {}
        self._blocks: dict[str, float] = {}

    def now(self) -> float:
        return self._clock()

    def _live(self, method: str, window: float, now: float) -> list[tuple[float, float]]:
        charges = self._charges.get(method)
        if charges is None:
            return []
        while charges and charges[0][0] + window <= now:
            charges.popleft()
        return list(charges)

    def charge(self, method: str, seconds: float) -> None:
        if seconds > 0:
            self._charges.setdefault(method, deque()).append((self._clock(), seconds))

    def used(self, method: str, window: float) -> float:
        return math.fsum(cost for _, cost in self._live(method, window, self._clock()))

    def block(self, method: str, until: float) -> None:
        self._blocks[method] = max(until, self._blocks.get(method, until))

    def blocked_until(self, method: str, limit: float | None, window: float) -> float | None:
        """The moment ``method`` unblocks, or ``None`` when it may run now."""
        now = self._clock()
        until: float | None = None
        manual = self._blocks.get(method)
        if manual is not None:
            if manual > now:
                until = manual
            else:
                del self._blocks[method]
        if limit is not None:
            charges = self._live(method, window, now)
            costs = [cost for _, cost in charges]
            if math.fsum(costs) > limit:
                for index, (stamp, _) in enumerate(charges):
                    if math.fsum(costs[index + 1 :]) <= limit:
                        until = max(until or stamp + window, stamp + window)
                        break
        return until

    def oldest_reset_at(self, method: str, window: float) -> float | None:
        """When the method's oldest live charge ages out (its counter next drops), or None when none is live."""
        charges = self._live(method, window, self._clock())
        return charges[0][0] + window if charges else None

    def reset_at(self, method: str, window: float) -> float:
        """When the method's counter is back to zero: its newest live charge plus the window (or now plus it)."""
        now = self._clock()
        charges = self._live(method, window, now)
        return (charges[-1][0] if charges else now) + window


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


def _vat_id(rate: Decimal | None) -> int | None:
    for vat_id, vat_rate in VAT_IDS.items():
        if vat_rate == rate:
            return vat_id
    return None


def _fields_param(params: Mapping[str, Any]) -> dict[str, Any]:
    fields = params.get("fields")  # lower-case only, as the crm methods read it
    if not isinstance(fields, dict):
        raise RestError(400, "", "Parameter 'fields' must be array.")
    return fields


# ---- filtering lists (crm.*.list, catalog.product.list) -------------------------------------------------

_FILTER_KEY_RE = re.compile(r"^(>=|<=|!=|!@|=|!|>|<|@)?(.+)$")


def _parse_moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=PORTAL_TZ)


def _comparable(value: Any, numeric: bool, dated: bool = False) -> Any:
    if dated:
        return None if value is None or value == "" else _parse_moment(value)
    if numeric:
        try:
            return Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            return None
    return "" if value is None else str(value)


def _matches(
    row: Mapping[str, Any],
    key: str,
    wanted: Any,
    numeric_fields: frozenset[str],
    date_fields: frozenset[str] = frozenset(),
    known_fields: frozenset[str] | None = None,
) -> bool:
    match = _FILTER_KEY_RE.match(key)
    known = frozenset(row) if known_fields is None else known_fields
    if match is None or match.group(2) not in known:
        raise RestError(400, "", f"Unknown field definition `{key}`")
    operator, field_name = match.group(1) or "=", match.group(2)
    numeric, dated = field_name in numeric_fields, field_name in date_fields
    actual = _comparable(row.get(field_name), numeric, dated)
    if isinstance(wanted, list | dict) and operator in {">", ">=", "<", "<="}:
        # An array for a comparison (e.g. a batch reference that resolved to a whole page): the old CRM filter
        # ORs one condition per element, an element that is itself an array counting as PHP casts it (1 or 0);
        # an empty array sets no condition. [inferred from CSQLWhere; see local.bitrix24_batch]
        options = list(wanted.values()) if isinstance(wanted, dict) else wanted
        if not options:
            return True
        return any(
            _matches(row, key, int(bool(option)) if isinstance(option, list | dict) else option, numeric_fields,
                     date_fields, known_fields)
            for option in options
        )  # fmt: skip
    if operator in {"@", "!@"} or isinstance(wanted, list):
        options = wanted if isinstance(wanted, list) else [wanted]
        found = actual in {_comparable(option, numeric, dated) for option in options}
        return not found if operator.startswith("!") else found
    expected = _comparable(wanted, numeric, dated)
    if expected is None or actual is None:
        return operator in {"!", "!="} and (expected is None) != (actual is None)
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


def _sort_key(value: Any, numeric: bool, dated: bool = False) -> tuple[int, Any]:
    comparable = _comparable(value, numeric, dated)
    if comparable is None:
        return (0, 0)
    return (1, comparable)


def _select_list(select: Any) -> list[str]:
    if isinstance(select, list):
        return [str(item) for item in select]
    if isinstance(select, dict):
        return [str(item) for item in select.values()]
    if isinstance(select, str) and select:
        return [select]
    return []


def _select_row(
    row: Mapping[str, Any], fields: list[str], always: tuple[str, ...], uf_prefix: str | None
) -> dict[str, Any]:
    """Keep the selected keys: names, ``*`` (every field, user fields too unless ``uf_prefix`` says which keys
    are user fields, as ``crm.deal.list`` does) and patterns such as ``UF_*`` or ``ufCrm*``."""

    def wanted(key: str) -> bool:
        if key in always or key in fields:
            return True
        for pattern in fields:
            if pattern == "*":
                if uf_prefix is None or not key.startswith(uf_prefix):
                    return True
            elif "*" in pattern and fnmatchcase(key, pattern):
                return True
        return False

    return {key: value for key, value in row.items() if wanted(key)}


def _list_rows(
    rows: list[dict[str, Any]],
    params: Mapping[str, Any],
    *,
    id_field: str,
    numeric_fields: frozenset[str],
    always_selected: tuple[str, ...],
    filter_value: Any = None,
    date_fields: frozenset[str] = frozenset(),
    uf_prefix: str | None = None,
    list_order: ListOrder = ListOrder.IDEAL,
) -> _MethodResult:
    """Filter, order, page and select like a Bitrix24 list method (50 per page, ``start=-1`` skips total)."""
    filters = _param(params, "filter") if filter_value is None else filter_value
    if filters is None or filters == "":
        filters = {}
    if not isinstance(filters, dict):
        raise RestError(400, "", "Parameter 'filter' must be array.")
    known = frozenset(key for row in rows for key in row)
    selected = [
        row for row in rows if all(_matches(row, k, v, numeric_fields, date_fields, known) for k, v in filters.items())
    ]

    try:
        selected = ordered(
            selected,
            _param(params, "order"),
            known=known,
            id_field=id_field,
            sort_key=lambda name, value: _sort_key(value, name in numeric_fields, name in date_fields),
            mode=list_order,
        )
    except UnknownOrderField as exc:
        raise RestError(400, "", str(exc)) from exc

    start = _as_int(_param(params, "start")) or 0
    count_total = start != -1
    start = max(start, 0)
    page = selected[start : start + PAGE_SIZE]
    fields = _select_list(_param(params, "select")) or ["*"]
    page = [_select_row(row, fields, always_selected, uf_prefix) for row in page]
    total = len(selected) if count_total else None
    has_next = count_total and start + PAGE_SIZE < len(selected)
    return _MethodResult(page, total=total, next=start + PAGE_SIZE if has_next else None)


_DEAL_NUMERIC_FIELDS = frozenset(
    {"ID", "CATEGORY_ID", "COMPANY_ID", "OPPORTUNITY", "TAX_VALUE", "PROBABILITY", "ASSIGNED_BY_ID"}
)
_DEAL_DATE_FIELDS = frozenset({"DATE_CREATE", "DATE_MODIFY", "BEGINDATE", "CLOSEDATE", "MOVED_TIME"})
_ITEM_NUMERIC_FIELDS = frozenset(
    {
        "id",
        "categoryId",
        "companyId",
        "opportunity",
        "taxValue",
        "mycompanyId",
        "parentId2",
        "assignedById",
        "entityTypeId",
    }
)
_ITEM_DATE_FIELDS = frozenset({"createdTime", "updatedTime", "movedTime", "begindate", "closedate"})
_PRODUCT_ROW_NUMERIC_FIELDS = frozenset(
    {"id", "ownerId", "productId", "price", "quantity", "taxRate", "discountRate", "sort", "type", "storeId"}
)
_STATUS_NUMERIC_FIELDS = frozenset({"ID", "SORT", "CATEGORY_ID"})


# ---- the sandbox ------------------------------------------------------------------------------------------

Handler = Callable[[dict[str, Any]], _MethodResult]


class Bitrix24Sandbox:
    """An HTTP server imitating one Bitrix24 portal's incoming webhook (see the module docstring).

    Operating limit: ``operating_cost_seconds`` maps a method (lower-case; ``"*"`` for any other) to the seconds
    each call of it is charged (default 0.0). With ``operating_limit_seconds`` set, a method whose charges within
    ``operating_window_seconds`` add up to more than the limit answers 429 until they age out. The clock is
    ``clock`` (unix seconds), for these and for modification stamps. ``latency_seconds`` delays every HTTP answer. ``deal_user_fields`` and
    ``invoice_user_fields`` name the portal's ``UF_CRM_*`` fields; ``None`` accepts any ``UF_CRM_*`` name.
    ``user_id`` and ``webhook_code`` make the webhook path, so sandboxes of several portals answer only their own.
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
        self.time_profile = time_profile  # how the ``time`` block looks (local.bitrix24_time)
        self.list_order = list_order  # default order and unknown order keys of list methods (local.bitrix24_lists)
        self.user_id = user_id
        self.webhook_code = webhook_code  # the secret part of this portal's incoming-webhook URL
        self._deals: dict[int, Deal] = {deal.id: deal for deal in deals}
        self._modified: dict[int, datetime] = {deal_id: _BASE_DATE for deal_id in self._deals}
        self._deal_uf: dict[int, dict[str, Any]] = {}
        self._invoices: dict[int, SmartInvoice] = {invoice.id: invoice for invoice in smart_invoices}
        self._invoice_modified: dict[int, datetime] = {invoice_id: _BASE_DATE for invoice_id in self._invoices}
        self._invoice_uf: dict[int, dict[str, Any]] = {}
        self._deal_user_fields = None if deal_user_fields is None else frozenset(deal_user_fields)
        self._invoice_user_fields = None if invoice_user_fields is None else frozenset(invoice_user_fields)
        self._companies: dict[int, Company] = {company.id: company for company in companies}
        self._requisites: dict[int, Requisite] = {requisite.id: requisite for requisite in requisites}
        self._products: dict[int, Product] = {product.id: product for product in products}
        self._host = host
        self._port = port
        self._bucket = LeakyBucket(drain_per_second, burst)
        self._operating = OperatingMeter(clock)
        self.latency_seconds = latency_seconds
        self.operating_limit_seconds = operating_limit_seconds
        self.operating_window_seconds = operating_window_seconds
        self.operating_cost_seconds: dict[str, float] = {
            method.lower(): cost for method, cost in (operating_cost_seconds or {}).items()
        }
        self._failures: list[_Failure] = []
        self._outage: _Failure | None = None
        self._crashes: list[tuple[str, dict[str, str]]] = []
        self._raw_fields: dict[tuple[str, int], dict[str, Any]] = {}
        self._fault_hook: FaultHook | None = None
        self._request_log: list[RequestLogEntry] = []
        self._comments: list[TimelineComment] = []
        self._deal_updates: list[DealUpdate] = []
        self._item_updates: list[ItemUpdate] = []
        self._next_comment_id = 1
        self._server: _SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._scopes = list(scopes)
        self._handlers: dict[str, Handler] = {
            "scope": self._scope,
            "crm.deal.get": self._deal_get,
            "crm.deal.list": self._deal_list,
            "crm.deal.update": self._deal_update,
            "crm.deal.productrows.get": self._deal_productrows_get,
            "crm.item.get": self._item_get,
            "crm.item.list": self._item_list,
            "crm.item.update": self._item_update,
            "crm.item.productrow.list": self._item_productrow_list,
            "crm.status.list": self._status_list,
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
            return list(self._comments)

    @property
    def deal_updates(self) -> list[DealUpdate]:
        """``crm.deal.update`` calls that reached an existing deal, oldest first."""
        with self._lock:
            return list(self._deal_updates)

    @property
    def item_updates(self) -> list[ItemUpdate]:
        """``crm.item.update`` calls that reached an existing deal or invoice, oldest first."""
        with self._lock:
            return list(self._item_updates)

    def set_deal(self, deal: Deal) -> None:
        """Insert or replace a deal; its DATE_MODIFY moves to now. User-field values set earlier stay."""
        with self._lock:
            self._deals[deal.id] = deal
            self._modified[deal.id] = self._now()

    def set_smart_invoice(self, invoice: SmartInvoice) -> None:
        """Insert or replace a new invoice; its updatedTime moves to now. User-field values set earlier stay."""
        with self._lock:
            self._invoices[invoice.id] = invoice
            self._invoice_modified[invoice.id] = self._now()

    def deal_user_field_values(self, deal_id: int) -> dict[str, Any]:
        """The ``UF_CRM_*`` values stored on a deal (by ``crm.deal.update`` / ``crm.item.update``)."""
        with self._lock:
            return dict(self._deal_uf.get(deal_id, {}))

    def invoice_user_field_values(self, invoice_id: int) -> dict[str, Any]:
        """The ``UF_CRM_*`` values stored on a new invoice (by ``crm.item.update``)."""
        with self._lock:
            return dict(self._invoice_uf.get(invoice_id, {}))

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

    def set_outage(self, status: int | None = 502, error: str = "", description: str = "Bad Gateway") -> None:
        """Answer every HTTP request with this error until called with ``status=None`` (the portal is down:
        its front answers with a bare error page, here as the JSON shape the client reads)."""
        with self._lock:
            self._outage = None if status is None else _Failure(status, error, description)

    def crash_on(self, method: str, **params: object) -> None:
        """Answer HTTP 500 to every request that calls ``method`` with these top-level parameters, directly or
        inside a batch (the whole batch fails), as a portal does when one command's PHP dies on a broken record."""
        with self._lock:
            self._crashes.append((method.lower(), {name: str(value) for name, value in params.items()}))

    def set_raw_fields(self, kind: str, entity_id: int, fields: Mapping[str, Any]) -> None:
        """Serve these values verbatim in place of the typed ones, as a portal does after another integration
        wrote them through REST: ``kind`` is ``deal``, ``invoice`` (camelCase keys), ``row`` (a product row by
        its ID, deal-style keys; new-invoice rows get them in camelCase), ``requisite`` or ``product``. A
        :class:`~local.bitrix24_sandbox_protocol.RawJson` value is written into the JSON as it is."""
        with self._lock:
            self._raw_fields.setdefault((kind, entity_id), {}).update(fields)

    def _raw(self, kind: str, entity_id: int) -> dict[str, Any]:
        return dict(self._raw_fields.get((kind, entity_id), {}))

    def _now(self) -> datetime:
        """Modification stamps (DATE_MODIFY, updatedTime) come from the sandbox's ``clock``."""
        return datetime.fromtimestamp(self._operating.now(), PORTAL_TZ)

    def set_fault_hook(self, hook: FaultHook | None) -> None:
        """Ask ``hook`` before serving each HTTP request (after the queued ``fail_next`` failures); None removes it."""
        with self._lock:
            self._fault_hook = hook

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
            self._request_log.append(
                RequestLogEntry(
                    method,
                    batch_methods,
                    status,
                    http_method,
                    error="" if status < 400 else str(payload.get("error", "")),
                    batch_errors=_batch_error_codes(payload) if method == "batch" else (),
                    params=copy.deepcopy(params),
                    started_at=arrived,
                )
            )
        return status, encode_json(payload)

    def _answer(
        self,
        segments: list[str],
        method: str,
        params: dict[str, Any],
        early_error: RestError | None,
        started: float,
    ) -> tuple[int, dict[str, Any]]:
        if self._outage is not None:
            return self._outage.status, {"error": self._outage.error, "error_description": self._outage.description}
        if self._failures:
            failure = self._failures.pop(0)
            return failure.status, {"error": failure.error, "error_description": failure.description}
        if self._fault_hook is not None and (injected := self._fault_hook(method)) is not None:
            return injected.status, {"error": injected.error, "error_description": injected.description}
        if len(segments) < 5 or segments[1] != "rest":
            return 404, {"error": "NOT_FOUND", "error_description": "Use /rest/<user>/<code>/<method>"}
        if segments[2] != self.user_id or segments[3] != self.webhook_code:
            return 401, {"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"}
        if not self._bucket.try_acquire():
            return 503, {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
        try:
            if early_error is not None:
                raise early_error
            outcome = self._batch(params) if method == "batch" else self._invoke(method, params)
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
        except _Crash:
            return 500, {"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"}
        except RestError as exc:
            return exc.status, exc.body()
        payload: dict[str, Any] = {"result": outcome.result}
        if outcome.next is not None:
            payload["next"] = outcome.next
        if outcome.total is not None:
            payload["total"] = outcome.total
        payload["time"] = self._timing(started, outcome)
        return 200, payload

    def _timing(self, started: float, outcome: _MethodResult) -> dict[str, Any]:
        """The answer's ``time`` block, idealised or as real portals write it (``local.bitrix24_time``)."""
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

    def _operating_cost(self, method: str) -> float:
        costs = self.operating_cost_seconds
        return float(costs.get(method, costs.get("*", 0.0)))

    def _invoke(self, method: str, params: dict[str, Any]) -> _MethodResult:
        """Run one method (direct or inside a batch) under the operating limit, then charge its cost."""
        window = self.operating_window_seconds
        blocked = self._operating.blocked_until(method, self.operating_limit_seconds, window)
        if blocked is not None:
            raise OperatingLimitError(math.ceil(blocked), self._operating.used(method, window))
        for crashing, wanted in self._crashes:
            if crashing == method and all(str(params.get(name)) == value for name, value in wanted.items()):
                raise _Crash(method)
        handler = self._handlers.get(method)
        if handler is None:
            # CRestServer answers an unknown method with 404 (STATUS_NOT_FOUND), in a batch as that command's error
            raise RestError(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
        try:
            outcome = handler(params)
        finally:
            self._operating.charge(method, self._operating_cost(method))
        outcome.operating = self._operating.used(method, window)
        outcome.operating_reset_at = math.ceil(self._operating.reset_at(method, window))
        outcome.oldest_reset_at = self._operating.oldest_reset_at(method, window)
        return outcome

    # -- batch ----------------------------------------------------------------------------------------------

    def _batch(self, params: dict[str, Any]) -> _MethodResult:
        """``batch`` as the REST module runs it (``local.bitrix24_batch``: 50 commands, the rest refused one by
        one; PHP-array sections; ``$result``/``$next``/``$total`` references resolved to the deepest value)."""
        commands = _batch_commands(params.get("cmd"))
        if any(split_command(command)[0] == "batch" for _, command in commands):
            raise RestError(405, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage")
        blocked_until: list[int] = []

        def execute(method: str, command_params: dict[str, Any]) -> dict[str, Any]:
            started = time.time()
            try:
                outcome = self._invoke(method, command_params)
            except RestError as exc:
                if isinstance(exc, OperatingLimitError):
                    blocked_until.append(exc.reset_at)
                return exc.body()
            answer: dict[str, Any] = {"result": outcome.result}
            if outcome.next is not None:
                answer["next"] = outcome.next
            if outcome.total is not None:
                answer["total"] = outcome.total
            answer["time"] = self._timing(started, outcome)
            return answer

        sections = run_batch(commands, _truthy(params.get("halt", 0)), execute)
        # The batch call itself is never charged; a blocked command's unblock time shows in the batch's time.
        return _MethodResult(
            sections,
            operating_reset_at=max(blocked_until) if blocked_until else None,
            is_batch=True,
        )

    # -- crm.deal.* -----------------------------------------------------------------------------------------

    def _find_deal(self, params: Mapping[str, Any], description: str) -> Deal:
        deal = self._deals.get(_required_id(params, "id", description))
        if deal is None:
            raise _not_found()
        return deal

    def _deal_get(self, params: dict[str, Any]) -> _MethodResult:
        return _MethodResult(self._deal_row(self._find_deal(params, "ID is not defined or invalid.")))

    def _deal_row(self, deal: Deal) -> dict[str, Any]:
        modified = _iso(self._modified.get(deal.id, _BASE_DATE))
        closed = deal.stage_semantic_id in {"S", "F"}
        probability = {"S": "100", "F": "0"}.get(deal.stage_semantic_id, "50")
        row: dict[str, Any] = {
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
            "CONTACT_ID": str(deal.contact_id) if deal.contact_id else None,
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
        row.update(_user_field_values(self._deal_user_fields, self._deal_uf.get(deal.id, {})))
        row.update(self._raw("deal", deal.id))
        return row

    def _deal_list(self, params: dict[str, Any]) -> _MethodResult:
        return _list_rows(
            [self._deal_row(deal) for deal in self._deals.values()],
            params,
            id_field="ID",
            numeric_fields=_DEAL_NUMERIC_FIELDS,
            date_fields=_DEAL_DATE_FIELDS,
            always_selected=("ID",),
            uf_prefix="UF_",
            list_order=self.list_order,
        )

    def _deal_update(self, params: dict[str, Any]) -> _MethodResult:
        deal = self._find_deal(params, "ID is not defined or invalid.")
        fields = _fields_param(params)
        standard = {"title": fields.get("TITLE"), "stage_id": fields.get("STAGE_ID")}
        user_fields = {key: value for key, value in fields.items() if key.startswith("UF_")}
        self._apply_deal_fields(deal, standard, user_fields)
        self._deal_updates.append(DealUpdate(deal.id, copy.deepcopy(fields)))
        return _MethodResult(True)

    def _apply_deal_fields(self, deal: Deal, standard: Mapping[str, Any], user_fields: Mapping[str, Any]) -> None:
        """Store what the portal would keep; unknown names (a misspelled UF field too) are silently dropped."""
        changed = deal
        title = standard.get("title")
        if isinstance(title, str) and title.strip():
            changed = _replace_deal(changed, title=title)
        stage = _find_stage(standard.get("stage_id"), deal_stage_entity(deal.category_id))
        if stage is not None:
            changed = _replace_deal(changed, stage_id=stage.status_id, stage_semantic_id=stage.semantic_id)
        self._deals[deal.id] = changed
        _store_user_fields(self._deal_uf.setdefault(deal.id, {}), self._deal_user_fields, user_fields)
        self._modified[deal.id] = self._now()

    def _deal_productrows_get(self, params: dict[str, Any]) -> _MethodResult:
        deal = self._find_deal(params, "The parameter id is invalid or not defined.")
        return _MethodResult(
            [self._product_row(deal.id, OWNER_TYPE_DEAL, row, index) for index, row in enumerate(deal.rows)]
        )

    def _product_row(self, owner_id: int, owner_type: str, row: ProductRow, index: int) -> dict[str, Any]:
        rates = product_row_prices(row)
        product = self._products.get(row.product_id)
        return {
            "ID": str(row.id),
            "OWNER_ID": str(owner_id),
            "OWNER_TYPE": owner_type,
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
            **self._raw("row", row.id),
        }

    # -- crm.item.* -----------------------------------------------------------------------------------------

    @staticmethod
    def _entity_type(params: Mapping[str, Any]) -> int:
        entity_type_id = _as_int(_param(params, "entityTypeId"))
        if entity_type_id in {ENTITY_TYPE_DEAL, ENTITY_TYPE_SMART_INVOICE}:
            return int(entity_type_id)
        if entity_type_id == ENTITY_TYPE_OLD_INVOICE:
            raise RestError(400, "ENTITY_TYPE_NOT_SUPPORTED", "Entity type `Invoice` is not supported")
        if entity_type_id in {1, 3, 4, 7}:
            raise RestError(400, "ENTITY_TYPE_NOT_SUPPORTED", "This sandbox serves deals (2) and invoices (31)")
        raise RestError(400, "NOT_FOUND", "Smart process not found")

    def _item_get(self, params: dict[str, Any]) -> _MethodResult:
        entity_type_id = self._entity_type(params)
        original = _truthy(_param(params, "useOriginalUfNames"))
        item_id = _as_int(_param(params, "id"))
        if entity_type_id == ENTITY_TYPE_DEAL:
            deal = self._deals.get(item_id) if item_id is not None else None
            if deal is None:
                raise _item_not_found()
            return _MethodResult({"item": self._deal_item(deal, original)})
        invoice = self._invoices.get(item_id) if item_id is not None else None
        if invoice is None:
            raise _item_not_found()
        return _MethodResult({"item": self._invoice_item(invoice, original)})

    def _item_list(self, params: dict[str, Any]) -> _MethodResult:
        entity_type_id = self._entity_type(params)
        original = _truthy(_param(params, "useOriginalUfNames"))
        if entity_type_id == ENTITY_TYPE_DEAL:
            rows = [self._deal_item(deal, original) for deal in self._deals.values()]
        else:
            rows = [self._invoice_item(invoice, original) for invoice in self._invoices.values()]
        listed = _list_rows(
            rows,
            params,
            id_field="id",
            numeric_fields=_ITEM_NUMERIC_FIELDS,
            date_fields=_ITEM_DATE_FIELDS,
            always_selected=("id",),
            list_order=self.list_order,
        )
        return _MethodResult({"items": listed.result}, total=listed.total, next=listed.next)

    def _item_update(self, params: dict[str, Any]) -> _MethodResult:
        entity_type_id = self._entity_type(params)
        item_id = _as_int(_param(params, "id"))
        fields = _fields_param(params)
        user_fields: dict[str, Any] = {}
        for key, value in fields.items():
            name = key if key.startswith("UF_") else uf_name_from_camel(key, entity_type_id)
            if name is not None:
                user_fields[name] = value
        original = _truthy(_param(params, "useOriginalUfNames"))
        if entity_type_id == ENTITY_TYPE_DEAL:
            deal = self._deals.get(item_id) if item_id is not None else None
            if deal is None:
                raise _item_not_found()
            standard = {"title": fields.get("title"), "stage_id": fields.get("stageId")}
            self._apply_deal_fields(deal, standard, user_fields)
            item = self._deal_item(self._deals[deal.id], original)
        else:
            invoice = self._invoices.get(item_id) if item_id is not None else None
            if invoice is None:
                raise _item_not_found()
            self._apply_invoice_fields(invoice, fields, user_fields)
            item = self._invoice_item(self._invoices[invoice.id], original)
        self._item_updates.append(ItemUpdate(entity_type_id, int(item["id"]), copy.deepcopy(fields)))
        return _MethodResult({"item": item})

    def _apply_invoice_fields(
        self, invoice: SmartInvoice, fields: Mapping[str, Any], user_fields: Mapping[str, Any]
    ) -> None:
        changed = invoice
        title, number = fields.get("title"), fields.get("accountNumber")
        if isinstance(title, str) and title.strip():
            changed = _replace_invoice(changed, title=title)
        if isinstance(number, str):
            changed = _replace_invoice(changed, account_number=number)
        stage = _find_stage(fields.get("stageId"), smart_invoice_stage_entity(invoice.category_id))
        if stage is not None:
            changed = _replace_invoice(changed, stage_id=stage.status_id, stage_semantic_id=stage.semantic_id)
        self._invoices[invoice.id] = changed
        _store_user_fields(self._invoice_uf.setdefault(invoice.id, {}), self._invoice_user_fields, user_fields)
        self._invoice_modified[invoice.id] = self._now()

    def _deal_item(self, deal: Deal, original_uf_names: bool) -> dict[str, Any]:
        """A deal as ``crm.item.get``/``crm.item.list`` answer it (entityTypeId 2): camelCase, typed values."""
        modified = _iso(self._modified.get(deal.id, _BASE_DATE))
        item: dict[str, Any] = {
            "id": deal.id,
            "title": deal.title,
            "typeId": "SALE",
            "stageId": deal.stage_id,
            "stageSemanticId": deal.stage_semantic_id,
            "categoryId": deal.category_id,
            "probability": {"S": 100, "F": 0}.get(deal.stage_semantic_id, 50),
            "currencyId": deal.currency_id,
            "opportunity": _money(deal.opportunity),
            "isManualOpportunity": _yn(deal.is_manual_opportunity),
            "taxValue": _money(deal.tax_value),
            "companyId": deal.company_id,
            "contactId": None,
            "contactIds": [],
            "quoteId": None,
            "begindate": _iso(_BASE_DATE.replace(hour=3)),
            "closedate": _iso(_BASE_DATE.replace(hour=3) + timedelta(days=7)),
            "opened": "Y",
            "closed": _yn(deal.stage_semantic_id in {"S", "F"}),
            "comments": "",
            "assignedById": 1,
            "createdBy": 1,
            "updatedBy": 1,
            "movedBy": 1,
            "createdTime": _iso(_BASE_DATE),
            "updatedTime": modified,
            "movedTime": modified,
            "sourceId": "WEB",
            "sourceDescription": None,
            "leadId": None,
            "observers": [],
            "entityTypeId": ENTITY_TYPE_DEAL,
        }
        values = _user_field_values(self._deal_user_fields, self._deal_uf.get(deal.id, {}))
        item.update(_item_user_fields(values, ENTITY_TYPE_DEAL, original_uf_names))
        return item

    def _invoice_item(self, invoice: SmartInvoice, original_uf_names: bool) -> dict[str, Any]:
        """A new invoice as ``crm.item.get``/``crm.item.list`` answer it (entityTypeId 31, reference §2.6)."""
        modified = _iso(self._invoice_modified.get(invoice.id, _BASE_DATE))
        item: dict[str, Any] = {
            "id": invoice.id,
            "xmlId": None,
            "title": invoice.title,
            "createdBy": 1,
            "updatedBy": 1,
            "movedBy": 1,
            "createdTime": _iso(_BASE_DATE),
            "updatedTime": modified,
            "movedTime": modified,
            "categoryId": invoice.category_id,
            "opened": "Y",
            "stageId": invoice.stage_id,
            "previousStageId": "",
            "begindate": _iso(_BASE_DATE.replace(hour=3)),
            "closedate": _iso(_BASE_DATE.replace(hour=3) + timedelta(days=10)),
            "companyId": invoice.company_id,
            "contactId": None,
            "opportunity": _money(invoice.opportunity),
            "isManualOpportunity": _yn(invoice.is_manual_opportunity),
            "taxValue": _money(invoice.tax_value),
            "currencyId": invoice.currency_id,
            "mycompanyId": MY_COMPANY.id,
            "sourceId": None,
            "sourceDescription": None,
            "webformId": None,
            "assignedById": 1,
            "accountNumber": invoice.account_number,
            "comments": "",
            "locationId": None,
            "stageSemanticId": invoice.stage_semantic_id,
            "lastActivityBy": 1,
            "lastActivityTime": modified,
            "parentId2": invoice.parent_deal_id,
            "parentId7": None,
            "contactIds": [],
            "observers": [],
            "entityTypeId": ENTITY_TYPE_SMART_INVOICE,
        }
        values = _user_field_values(self._invoice_user_fields, self._invoice_uf.get(invoice.id, {}))
        item.update(_item_user_fields(values, ENTITY_TYPE_SMART_INVOICE, original_uf_names))
        item.update(self._raw("invoice", invoice.id))
        return item

    def _item_productrow_list(self, params: dict[str, Any]) -> _MethodResult:
        filters = _param(params, "filter")
        if not isinstance(filters, dict) or "=ownerType" not in filters or "=ownerId" not in filters:
            raise RestError(400, "", "The filter must contain =ownerType and =ownerId")
        rows = [
            _camel_product_row(self._product_row(deal.id, OWNER_TYPE_DEAL, row, index))
            for deal in self._deals.values()
            for index, row in enumerate(deal.rows)
        ]
        rows += [
            _camel_product_row(self._product_row(invoice.id, OWNER_TYPE_SMART_INVOICE, row, index))
            for invoice in self._invoices.values()
            for index, row in enumerate(invoice.rows)
        ]
        listed = _list_rows(
            rows,
            params,
            id_field="id",
            numeric_fields=_PRODUCT_ROW_NUMERIC_FIELDS,
            always_selected=("id",),
            filter_value=filters,
            list_order=self.list_order,
        )
        return _MethodResult({"productRows": listed.result}, total=listed.total, next=listed.next)

    # -- stages ---------------------------------------------------------------------------------------------

    def _scope(self, params: dict[str, Any]) -> _MethodResult:
        """The scopes granted to this incoming webhook (`scope` without `full`)."""
        return _MethodResult(list(self._scopes))

    def _status_list(self, params: dict[str, Any]) -> _MethodResult:
        rows = [_status_row(index, stage) for index, stage in enumerate(STAGES, start=1)]
        return _list_rows(
            rows,
            params,
            id_field="ID",
            numeric_fields=_STATUS_NUMERIC_FIELDS,
            always_selected=("ID",),
            list_order=self.list_order,
        )

    # -- requisites and companies ---------------------------------------------------------------------------

    def _requisite_link_get(self, params: dict[str, Any]) -> _MethodResult:
        entity_type_id = _required_id(params, "entityTypeId", "entityTypeId is not defined or invalid.")
        entity_id = _required_id(params, "entityId", "entityId is not defined or invalid.")
        owner: Deal | SmartInvoice | None = None
        if entity_type_id == ENTITY_TYPE_DEAL:
            owner = self._deals.get(entity_id)
        elif entity_type_id == ENTITY_TYPE_SMART_INVOICE:
            owner = self._invoices.get(entity_id)
        if owner is None or owner.requisite_id is None:
            raise _not_found()
        return _MethodResult(
            {
                "ENTITY_TYPE_ID": entity_type_id,
                "ENTITY_ID": entity_id,
                "REQUISITE_ID": str(owner.requisite_id),
                "BANK_DETAIL_ID": "0",
                "MC_REQUISITE_ID": str(owner.my_company_requisite_id),
                "MC_BANK_DETAIL_ID": "0",
            }
        )

    def _requisite_list(self, params: dict[str, Any]) -> _MethodResult:
        rows = [{**_requisite_row(r), **self._raw("requisite", r.id)} for r in self._requisites.values()]
        return _list_rows(
            rows,
            params,
            id_field="ID",
            numeric_fields=frozenset({"ID", "ENTITY_TYPE_ID", "ENTITY_ID", "PRESET_ID", "SORT"}),
            always_selected=("ID",),
            list_order=self.list_order,
        )

    def _requisite_get(self, params: dict[str, Any]) -> _MethodResult:
        requisite = self._requisites.get(_required_id(params, "id", "ID is not defined or invalid."))
        if requisite is None:
            raise _not_found()
        return _MethodResult({**_requisite_row(requisite), **self._raw("requisite", requisite.id)})

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
        return _MethodResult({"product": {**_product_row(product), **self._raw("product", product.id)}})

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
            list_order=self.list_order,
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
        fields = _fields_param(params)  # lower-case only, since crm 23.100.0
        entity_id = _as_int(fields.get("ENTITY_ID"))
        entity_type = fields.get("ENTITY_TYPE")
        comment = fields.get("COMMENT")
        if entity_id is None or entity_id <= 0:
            raise RestError(400, "", "ENTITY_ID is not defined or invalid.")
        if not isinstance(entity_type, str) or not entity_type.strip():
            raise RestError(400, "", "ENTITY_TYPE is not defined or invalid.")
        if not isinstance(comment, str) or not comment.strip():
            raise RestError(400, "", "COMMENT is not defined or empty.")
        kind = entity_type.strip().lower()
        if kind == "deal" and entity_id not in self._deals:
            raise _not_found()
        if kind in SMART_INVOICE_TIMELINE_TYPES and entity_id not in self._invoices:
            raise _not_found()
        comment_id = self._next_comment_id
        self._next_comment_id += 1
        self._comments.append(TimelineComment(comment_id, entity_type, entity_id, comment))
        return _MethodResult(comment_id)


# ---- entity helpers ---------------------------------------------------------------------------------------


def _replace_deal(deal: Deal, **changes: Any) -> Deal:
    return dataclasses.replace(deal, **changes)


def _replace_invoice(invoice: SmartInvoice, **changes: Any) -> SmartInvoice:
    return dataclasses.replace(invoice, **changes)


def _find_stage(stage_id: Any, entity_id: str) -> Stage | None:
    for stage in STAGES:
        if stage.entity_id == entity_id and stage.status_id == stage_id:
            return stage
    return None


def _store_user_fields(stored: dict[str, Any], known: frozenset[str] | None, user_fields: Mapping[str, Any]) -> None:
    """Keep the UF values a portal would keep; a name it does not have is dropped without a word."""
    for name, value in user_fields.items():
        if _user_field_exists(known, name):
            stored[name] = copy.deepcopy(value)


def _user_field_exists(defined: frozenset[str] | None, name: str) -> bool:
    return name.startswith("UF_CRM_") if defined is None else name in defined


def _user_field_values(defined: frozenset[str] | None, stored: Mapping[str, Any]) -> dict[str, Any]:
    """What a read shows: every defined field (None when unset), or, with no definitions, the ones set."""
    if defined is None:
        return dict(stored)
    return {name: stored.get(name) for name in sorted(defined)}


def _item_user_fields(values: Mapping[str, Any], entity_type_id: int, original: bool) -> dict[str, Any]:
    if original:
        return dict(values)
    return {uf_name_to_camel(name, entity_type_id): value for name, value in values.items()}


def _status_row(index: int, stage: Stage) -> dict[str, Any]:
    return {
        "ID": str(index),
        "ENTITY_ID": stage.entity_id,
        "STATUS_ID": stage.status_id,
        "NAME": stage.name,
        "NAME_INIT": stage.name,
        "SORT": str(stage.sort),
        "SYSTEM": _yn(stage.semantics is not None or stage.sort == 10),
        "CATEGORY_ID": str(stage.category_id),
        "SEMANTICS": stage.semantics,
    }


_CAMEL_PRODUCT_ROW_KEYS = {
    "ID": "id",
    "OWNER_ID": "ownerId",
    "OWNER_TYPE": "ownerType",
    "PRODUCT_ID": "productId",
    "PRODUCT_NAME": "productName",
    "PRICE": "price",
    "PRICE_ACCOUNT": "priceAccount",
    "PRICE_EXCLUSIVE": "priceExclusive",
    "PRICE_NETTO": "priceNetto",
    "PRICE_BRUTTO": "priceBrutto",
    "QUANTITY": "quantity",
    "DISCOUNT_TYPE_ID": "discountTypeId",
    "DISCOUNT_RATE": "discountRate",
    "DISCOUNT_SUM": "discountSum",
    "TAX_RATE": "taxRate",
    "TAX_INCLUDED": "taxIncluded",
    "CUSTOMIZED": "customized",
    "MEASURE_CODE": "measureCode",
    "MEASURE_NAME": "measureName",
    "SORT": "sort",
    "XML_ID": "xmlId",
    "TYPE": "type",
    "STORE_ID": "storeId",
}


def _camel_product_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A ``crm.deal.productrows.get`` row in ``crm.item.productrow.list`` shape: camelCase, every figure a number."""
    camel = {new: row[old] for old, new in _CAMEL_PRODUCT_ROW_KEYS.items()}
    camel["id"] = int(row["ID"])
    camel["ownerId"] = int(row["OWNER_ID"])
    camel["priceAccount"] = Decimal(row["PRICE_ACCOUNT"])
    return camel


def _batch_error_codes(payload: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    result = payload.get("result")
    errors = result.get("result_error") if isinstance(result, dict) else None
    if isinstance(errors, list):  # keys 0..n-1 come back as a JSON list
        errors = {str(index): value for index, value in enumerate(errors)}
    if not isinstance(errors, dict):
        return ()
    return tuple((str(key), str(value.get("error", ""))) for key, value in errors.items() if isinstance(value, dict))


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
        "xmlId": product.xml_id or "",  # an unset external code is "" on a real portal, never null
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
