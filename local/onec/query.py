"""The query language of the 1C sandbox: `$filter` (parsed by :mod:`local.onec.filter`), `$select`, `$expand`,
`$orderby`, `$top`/`$skip`, `$inlinecount` and `Set/$count`, applied to an entity set's rows as a base with the
indexes of a document or catalog table reads them (onec.md §1.3).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Container, Mapping
from decimal import Decimal
from typing import Any

from local.onec.filter import Node, indexed_range, matches, parse_filter
from local.onec.model import ZERO_GUID, Edm, EntityType
from local.onec.protocol import ODataError
from local.onec.store import Store

KNOWN_OPTIONS = frozenset({"$format", "$filter", "$select", "$top", "$skip", "$orderby", "$inlinecount", "$expand"})


def collection(store: Store, url: str, entity_set: str, query: Mapping[str, str]) -> tuple[dict[str, Any], int]:
    """The answer to a read of a set, and how many rows the base examined to give it."""
    with store.lock:
        rows = list(store.sets[entity_set])
    known = Names(store.types[entity_set].names(), rows)
    examined = len(rows)
    if "$filter" in query:
        condition = parse_filter(query["$filter"], Names(store.types[entity_set].names(), rows))
        rows = _rows_to_examine(condition, rows)
        examined = len(rows)
        rows = [row for row in rows if matches(condition, row)]
    if query.get("$orderby"):
        rows = _order(rows, query["$orderby"], known)
    count = len(rows)
    skip, top = _count_option(query, "$skip") or 0, _count_option(query, "$top")
    rows = rows[skip:] if top is None else rows[skip : skip + top]
    result: dict[str, Any] = {"odata.metadata": f"{url}$metadata#{entity_set}"}
    try:
        counted = inline_count(query.get("$inlinecount"))
    except ValueError as exc:
        raise ODataError(400, "14", str(exc)) from None
    if counted:
        result["odata.count"] = str(count)
    selected = _select(entity_set, rows, query.get("$select"), known)
    result["value"] = _expanded(store, entity_set, selected, query.get("$expand"))
    return result, examined


def entity(store: Store, url: str, entity_set: str, key: str, query: Mapping[str, str]) -> dict[str, Any]:
    """The answer to a read of one object by its key."""
    with store.lock:
        rows = list(store.sets[entity_set])
    found = [row for row in rows if row["Ref_Key"] == key]
    if not found:
        raise ODataError(404, "9", f"Экземпляр сущности не найден: {entity_set}(guid'{key}')")
    selected = _select(entity_set, found, query.get("$select"), Names(store.types[entity_set].names(), rows))
    selected = _expanded(store, entity_set, selected, query.get("$expand"))
    return {"odata.metadata": f"{url}$metadata#{entity_set}/@Element", **selected[0]}


def render(entity_set: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the row plus 1C's navigation links for its non-empty single-type references."""
    rendered = copy.deepcopy(dict(row))
    for name, value in row.items():
        if name.endswith("_Key") and name != "Ref_Key" and value != ZERO_GUID and "Ref_Key" in row:
            link = name[: -len("_Key")]
            rendered[f"{link}@navigationLinkUrl"] = f"{entity_set}(guid'{row['Ref_Key']}')/{link}"
    return rendered


def _select(
    entity_set: str, rows: list[dict[str, Any]], select: str | None, known: Container[str]
) -> list[dict[str, Any]]:
    if select is None or select.strip() == "*":
        return [render(entity_set, row) for row in rows]
    names = [name.strip() for name in select.split(",")]
    for name in names:
        if not name:
            raise ODataError(400, "14", f"Пустое имя свойства в $select: {select}")
        if "/" in name:
            raise ODataError(400, "0", f"Пути в $select не поддерживаются песочницей: {name}")
        if name not in known:
            raise ODataError(400, "10", f"Свойство не найдено: {name}")
    return [{name: copy.deepcopy(row.get(name)) for name in row if name in names} for row in rows]


def _expanded(store: Store, entity_set: str, rows: list[dict[str, Any]], option: str | None) -> list[dict[str, Any]]:
    if not option:
        return rows

    def rendered(target: str, key: str) -> dict[str, Any] | None:
        found = store.find(target, key)
        return render(target, found) if found is not None else None

    try:
        return expand(store.types[entity_set], option, rows, rendered)
    except KeyError as exc:
        raise ODataError(400, "10", f"Свойство не найдено: {exc.args[0]} ($expand)") from None


def inline_count(value: str | None) -> bool:
    """Whether `$inlinecount` asks for the count: `allpages` yes, `none` (or absent) no, anything else refused."""
    if value is None or value == "none":
        return False
    if value == "allpages":
        return True
    raise ValueError(f"$inlinecount={value}: ожидается allpages или none")


def expand(
    entity_type: EntityType, option: str, rows: list[dict[str, Any]], find: Callable[[str, str], dict[str, Any] | None]
) -> list[dict[str, Any]]:
    """Each row with the named navigation properties inlined (the referenced object, or null for an empty one)."""
    names = [name.strip() for name in option.split(",") if name.strip()]
    targets: dict[str, tuple[str, str]] = {}
    for name in names:
        prop = entity_type.prop(f"{name}_Key")
        if prop is None or prop.type is not Edm.GUID or len(prop.references) != 1:
            raise KeyError(name)
        targets[name] = (prop.name, prop.references[0])
    expanded = []
    for row in rows:
        result = dict(row)
        for name, (key_name, target) in targets.items():
            key = str(row.get(key_name) or ZERO_GUID)
            found = None if key == ZERO_GUID else find(target, key)
            result[name] = dict(found) if found is not None else None
        expanded.append(result)
    return expanded


class Names:
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
