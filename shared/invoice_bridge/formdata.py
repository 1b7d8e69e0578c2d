"""Decoding of Bitrix24's application/x-www-form-urlencoded bodies with PHP bracket keys.

`data[FIELDS][ID]=7&auth[domain]=x` becomes `{"data": {"FIELDS": {"ID": "7"}}, "auth": {"domain": "x"}}`;
`a[]=1&a[]=2` becomes a list, as PHP's parse_str does.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

MAX_FIELDS = 200
MAX_DEPTH = 6
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")

FormValue = str | list[Any] | dict[str, Any]


class FormDecodeError(ValueError):
    """The body is not a form-encoded body this bridge can read; the message says why."""


def parse_php_form(body: str) -> dict[str, Any]:
    try:
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except UnicodeDecodeError:
        raise FormDecodeError("body is not valid UTF-8 after percent-decoding") from None
    except ValueError as exc:  # too many fields
        raise FormDecodeError(f"body has more than {MAX_FIELDS} fields") from exc
    result: dict[str, Any] = {}
    for key, value in pairs:
        _insert(result, _split_key(key), value, key)
    return result


def _split_key(key: str) -> list[str]:
    match = _KEY.match(key)
    if match is None:
        raise FormDecodeError(f"malformed key {key[:60]!r}: brackets must be balanced, like data[FIELDS][ID]")
    path = [match.group(1), *_SEGMENT.findall(match.group(2))]
    if len(path) > MAX_DEPTH:
        raise FormDecodeError(f"key {key[:60]!r} nests deeper than {MAX_DEPTH} levels")
    return path


def _insert(container: dict[str, Any], path: list[str], value: str, key: str) -> None:
    node: Any = container
    for position, segment in enumerate(path):
        last = position == len(path) - 1
        if isinstance(node, list):  # entered only through an empty segment, so this one is "" too
            if last:
                node.append(value)
                return
            child: Any = [] if path[position + 1] == "" else {}
            node.append(child)
            node = child
            continue
        if segment == "":
            raise FormDecodeError(f"key {key[:60]!r} appends to a value that is not a list")
        if last:
            if isinstance(node.get(segment), (dict, list)):
                raise FormDecodeError(f"key {key[:60]!r} overwrites a nested value")
            node[segment] = value
            return
        existing = node.get(segment)
        wanted: type = list if path[position + 1] == "" else dict
        if existing is None:
            existing = wanted()
            node[segment] = existing
        elif not isinstance(existing, wanted):
            raise FormDecodeError(f"key {key[:60]!r} conflicts with an earlier key of another shape")
        node = existing
