"""The Bitrix24 ``batch`` method as the portal runs it, for the sandbox.

Source: the REST module's own code (a public mirror of Bitrix's ``rest`` module, ``classes/general/rest_provider.php``
``CRestProvider::methodsBatch`` and ``classes/general/rest_util.php`` ``CRestUtil::ParseBatchQuery`` /
``processBatchElement``, with ``CRestUtil::BATCH_MAX_LENGTH = 50``). What follows from it:

* Commands run in order. The first 50 run; every further command is answered in ``result_error`` with
  ``ERROR_BATCH_LENGTH_EXCEEDED`` (the request itself is HTTP 200). With ``halt`` the loop stops after the first
  command that failed (also after a length error).
* The answer's sections are PHP arrays keyed by the command keys, so ``json_encode`` writes a section whose keys are
  exactly ``0..n-1`` in order as a JSON **list** (commands sent as a list, all answered) and any other as an object;
  an empty section is ``[]``.
* References: the earlier answers are held as ``{result, next, total, time, error}``; a parameter value is searched
  with ``/\\$(result|next|total|time|error)([^\\s]*)/i`` and every ``[segment]`` in the matched tail is a step down.
  A step that does not exist (PHP ``isset`` false, which includes a null value) stops the walk: the reference
  becomes the deepest value reached, which is the whole section when even the command is unknown. So
  ``$result_next[cmd]`` reads ``$result[cmd]`` (``result`` matches, ``_next`` is skipped) and ``$next[cmd]`` is the
  real spelling. A value that is exactly one reference takes the value whatever its type (a list stays a list);
  inside longer text only a string is substituted and any other value leaves the reference text as it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from local.bitrix24_sandbox_protocol import nest_pairs, split_command

MAX_BATCH_COMMANDS = 50
LENGTH_EXCEEDED = {"error": "ERROR_BATCH_LENGTH_EXCEEDED", "error_description": "Max batch length exceeded"}
SECTIONS = ("result", "next", "total", "time", "error")

_REFERENCE_RE = re.compile(r"\$(result|next|total|time|error)([^\s]*)", re.IGNORECASE)
_STEP_RE = re.compile(r"\[([^\]]+)\]")

Answer = dict[str, Any]
"""One command's answer as the REST server gives it: ``{"result", "next"?, "total"?, "time"}`` or, for a failure,
``{"error", "error_description"}``."""

Execute = Callable[[str, dict[str, Any]], Answer]


def php_array(entries: Mapping[str, Any]) -> list[Any] | dict[str, Any]:
    """How PHP's ``json_encode`` writes an array with these keys: a list when they are ``0..n-1`` in order."""
    keys = list(entries)
    if all(key == str(index) for index, key in enumerate(keys)):
        return list(entries.values())
    return dict(entries)


def _step(value: Any, key: str) -> tuple[bool, Any]:
    """PHP ``isset($value[$key])`` and the value found."""
    if isinstance(value, Mapping):
        found = value.get(key)
        return found is not None, found
    if isinstance(value, list) and key.isdigit() and int(key) < len(value):
        found = value[int(key)]
        return found is not None, found
    if isinstance(value, str) and key.isdigit() and int(key) < len(value):
        return True, value[int(key)]  # a string offset, as PHP reads it
    return False, None


def _resolve(sections: Mapping[str, Any], name: str, tail: str) -> Any:
    value = sections.get(name)  # PHP array keys are case-sensitive: $RESULT[...] finds nothing
    for key in _STEP_RE.findall(tail):
        present, found = _step(value, key)
        if not present:
            break
        value = found
    return value


def resolve_value(text: str, sections: Mapping[str, Any]) -> Any:
    """One decoded parameter value with its references replaced (see the module docstring)."""
    for match in list(_REFERENCE_RE.finditer(text)):
        if not _STEP_RE.search(match.group(2)):
            continue  # no [segment]: processBatchElement leaves it alone
        found = _resolve(sections, match.group(1), match.group(2))
        if match.group(0) == text:
            return found
        if isinstance(found, str):
            text = text.replace(match.group(0), found)
    return text


def resolve_params(value: Any, sections: Mapping[str, Any]) -> Any:
    if isinstance(value, dict):
        return {key: resolve_params(item, sections) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_params(item, sections) for item in value]
    if isinstance(value, str):
        return resolve_value(value, sections)
    return value


def command_params(query: str, sections: Mapping[str, Any]) -> dict[str, Any]:
    """``parse_str`` of a command's query, then references resolved in every value."""
    resolved = resolve_params(nest_pairs(parse_qsl(query, keep_blank_values=True)), sections)
    return resolved if isinstance(resolved, dict) else {}


def run_batch(commands: list[tuple[str, str]], halt: bool, execute: Execute) -> dict[str, Any]:
    """The ``result`` of a ``batch`` call: its five sections, each a PHP array (see :func:`php_array`)."""
    answered: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    for count, (key, command) in enumerate(commands):
        if count < MAX_BATCH_COMMANDS:
            method, query = split_command(command)
            answer = execute(method, command_params(query, answered))
        else:
            answer = dict(LENGTH_EXCEEDED)
        failed = "error" in answer  # isset($res['error']): an empty code is still an error
        if failed:
            answered["error"][key] = answer
        else:
            for section, value in answer.items():
                if section in answered:
                    answered[section][key] = value
        if failed and halt:
            break
    return {
        "result": php_array(answered["result"]),
        "result_error": php_array(answered["error"]),
        "result_total": php_array(answered["total"]),
        "result_next": php_array(answered["next"]),
        "result_time": php_array(answered["time"]),
    }
