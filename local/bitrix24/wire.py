"""Wire-level helpers for the Bitrix24 sandbox: PHP-style bracket parameters, batch commands, JSON output.

Bitrix24 is a PHP application, so it reads request parameters the way PHP's ``parse_str`` does:
``filter[ENTITY_ID]=11&select[]=ID`` becomes ``{"filter": {"ENTITY_ID": "11"}, "select": ["ID"]}``.
A ``batch`` command is ``"method?query"`` whose query may hold ``$result[cmd][FIELD][0]`` references to the
results of earlier commands (resolved in :mod:`local.bitrix24.batch`). Responses render decimal figures as JSON
numbers, as the real API does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, quote

_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT_RE = re.compile(r"\[([^\[\]]*)\]")


# ---- bracket keys ---------------------------------------------------------------------------------------


def split_bracket_key(key: str) -> list[str]:
    """``"filter[ENTITY_ID]"`` → ``["filter", "ENTITY_ID"]``; a key that is not bracket-shaped stays whole."""
    match = _KEY_RE.match(key)
    if match is None:
        return [key]
    return [match.group(1), *_SEGMENT_RE.findall(match.group(2))]


def _next_index(container: dict[str, Any]) -> str:
    indexes = [int(k) for k in container if k.isdigit()]
    return str(max(indexes) + 1) if indexes else "0"


def _listify(value: Any) -> Any:
    """Turn dicts keyed ``"0".."n-1"`` into lists, recursively (PHP's packed arrays)."""
    if not isinstance(value, dict):
        return value
    converted = {key: _listify(item) for key, item in value.items()}
    if converted and all(key == str(i) for i, key in enumerate(converted)):
        return list(converted.values())
    return converted


def nest_pairs(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Build nested parameters from flat ``(bracket_key, value)`` pairs; a later value wins, like PHP."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        segments = split_bracket_key(key)
        node = root
        for position, segment in enumerate(segments):
            name = _next_index(node) if segment == "" else segment
            if position == len(segments) - 1:
                node[name] = value
                break
            child = node.get(name)
            if not isinstance(child, dict):
                child = {}
                node[name] = child
            node = child
    result = _listify(root)
    return result if isinstance(result, dict) else {}


def parse_query(query: str) -> dict[str, Any]:
    """Parse a URL query string or a form-encoded body into nested parameters."""
    return nest_pairs(parse_qsl(query, keep_blank_values=True))


def build_query(params: Mapping[str, Any]) -> str:
    """The inverse of :func:`parse_query`, like PHP's ``http_build_query`` (lists get numeric indexes)."""
    pairs: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(f"{prefix}[{key}]", item)
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                walk(f"{prefix}[{index}]", item)
        else:
            pairs.append((prefix, scalar_text(value)))

    for key, value in params.items():
        walk(str(key), value)
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


# ---- batch references -----------------------------------------------------------------------------------


def split_command(command: str) -> tuple[str, str]:
    """``"crm.deal.get?id=1"`` → ``("crm.deal.get", "id=1")``; the method name is lower-cased."""
    method, _, query = command.partition("?")
    method = method.strip().strip("/").lower()
    method = method.removesuffix(".json")
    return method, query


# ---- values and JSON ------------------------------------------------------------------------------------


def decimal_text(value: Decimal) -> str:
    """A decimal as a JSON number with trailing zeros dropped (``90000.00`` → ``90000``, like PHP floats)."""
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


def scalar_text(value: Any) -> str:
    """How PHP would print a scalar inside a query string."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, Decimal):
        return decimal_text(value)
    return str(value)


@dataclass(frozen=True)
class RawJson:
    """JSON text written into an answer as it is (``1E+400``, ``NaN``): values a test makes a portal send."""

    text: str


def _encode(value: Any, out: list[str]) -> None:
    if isinstance(value, RawJson):
        out.append(value.text)
    elif isinstance(value, Decimal):
        out.append(decimal_text(value))
    elif isinstance(value, Mapping):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(",")
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        out.append(json.dumps(value, ensure_ascii=False))


def encode_json(value: Any) -> str:
    """Serialise to JSON, writing :class:`~decimal.Decimal` as an exact JSON number (never via float)."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out)
