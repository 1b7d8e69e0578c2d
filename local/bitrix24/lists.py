"""How the sandbox's list methods (``crm.*.list``, ``catalog.product.list``) filter, order, page and select rows.

Filters take the old CRM's operator prefixes (``>=``, ``!``, ``@`` ...) on known fields only (``Unknown field
definition`` otherwise); a page holds 50 rows, ``next`` points at the following one and ``start=-1`` skips the total.

Order: as real portals do, or idealised.

A real portal promises no order unless ``order`` is given (the docs' paging advice, ``list-methods-pecularities.md``
and ``huge-data.md``, always sends ``order: {ID: ASC}`` for that reason), and the ORM behind ``crm.item.*`` refuses
an ``order`` key it does not know as it refuses such a ``filter`` key (``Unknown field definition``). Which order a
given portal falls back to is not documented, so ``ListOrder.REAL`` serves unordered lists in a fixed scrambled
order (newest changes first would be as plausible) and refuses unknown ``order`` keys; ``ListOrder.IDEAL`` is the
earlier sandbox: ID order by default and unknown ``order`` keys ignored. Tests run the bridge under both.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Any

from local.bitrix24.protocol import MethodResult, RestError
from local.bitrix24.values import PORTAL_TZ, as_int, param

PAGE_SIZE = 50


class ListOrder(StrEnum):
    REAL = "real"
    IDEAL = "ideal"


class UnknownOrderField(ValueError):
    """An ``order`` key the entity does not have (the portal answers 400 ``Unknown field definition``)."""


def _scrambled(row_id: str) -> int:
    return zlib.crc32(row_id.encode("utf-8"))


def ordered(
    rows: list[dict[str, Any]],
    order: Any,
    *,
    known: frozenset[str],
    id_field: str,
    sort_key: Callable[[str, Any], Any],
    mode: ListOrder,
) -> list[dict[str, Any]]:
    """``rows`` in the order a list method answers them; ``sort_key(field, value)`` compares one field's values."""
    if isinstance(order, Mapping) and order:
        for field_name in order:
            if known and field_name not in known and mode is ListOrder.REAL:  # fields are known from rows
                raise UnknownOrderField(f"Unknown field definition `{field_name}`")
        result = list(rows)
        for field_name, direction in reversed(list(order.items())):
            if field_name not in known:
                continue
            keys = {id(row): sort_key(field_name, row.get(field_name)) for row in result}
            result.sort(key=lambda row: keys[id(row)], reverse=str(direction).upper() == "DESC")
        return result
    if mode is ListOrder.IDEAL:
        return sorted(rows, key=lambda row: int(row[id_field]))
    return sorted(rows, key=lambda row: _scrambled(str(row[id_field])))


# ---- filtering, paging and selecting ----------------------------------------------------------------------

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
        # an empty array sets no condition. [inferred from CSQLWhere; see local.bitrix24.batch]
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


def list_rows(
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
) -> MethodResult:
    """Filter, order, page and select like a Bitrix24 list method (50 per page, ``start=-1`` skips total)."""
    filters = param(params, "filter") if filter_value is None else filter_value
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
            param(params, "order"),
            known=known,
            id_field=id_field,
            sort_key=lambda name, value: _sort_key(value, name in numeric_fields, name in date_fields),
            mode=list_order,
        )
    except UnknownOrderField as exc:
        raise RestError(400, "", str(exc)) from exc

    start = as_int(param(params, "start")) or 0
    count_total = start != -1
    start = max(start, 0)
    page = selected[start : start + PAGE_SIZE]
    fields = _select_list(param(params, "select")) or ["*"]
    page = [_select_row(row, fields, always_selected, uf_prefix) for row in page]
    total = len(selected) if count_total else None
    has_next = count_total and start + PAGE_SIZE < len(selected)
    return MethodResult(page, total=total, next=start + PAGE_SIZE if has_next else None)
