"""How the sandbox's list methods order their rows: as real portals do, or idealised.

A real portal promises no order unless ``order`` is given (the docs' paging advice, ``list-methods-pecularities.md``
and ``huge-data.md``, always sends ``order: {ID: ASC}`` for that reason), and the ORM behind ``crm.item.*`` refuses
an ``order`` key it does not know as it refuses such a ``filter`` key (``Unknown field definition``). Which order a
given portal falls back to is not documented, so ``ListOrder.REAL`` serves unordered lists in a fixed scrambled
order (newest changes first would be as plausible) and refuses unknown ``order`` keys; ``ListOrder.IDEAL`` is the
earlier sandbox: ID order by default and unknown ``order`` keys ignored. Tests run the bridge under both.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any


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
