"""The Bitrix24 ``batch`` method as the portal runs it, for the sandbox.

:func:`batch` is the method: up to 50 commands, each run as a direct call would be (the operating limit and
injected crashes included); a nested ``batch`` is refused with 405. The batch call itself is never charged; a
blocked command's unblock time shows in the batch's ``time`` block.

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
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from local.bitrix24.limits import OperatingLimitError
from local.bitrix24.protocol import MethodResult, RestError, success
from local.bitrix24.values import truthy
from local.bitrix24.wire import nest_pairs, split_command

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


def batch_commands(cmd: Any) -> list[tuple[str, str]]:
    """The ``cmd`` parameter as (key, command) pairs: an object's keys, or a list's indexes."""
    if isinstance(cmd, dict):
        return [(str(key), str(value)) for key, value in cmd.items()]
    if isinstance(cmd, list):
        return [(str(index), str(value)) for index, value in enumerate(cmd)]
    if cmd is None or cmd == "":
        return []
    raise RestError(400, "", "Parameter 'cmd' must be array.")


def batch_methods(cmd: Any) -> tuple[str, ...]:
    """The commands' methods, in order, for the request log; () when ``cmd`` is not an array."""
    try:
        return tuple(split_command(command)[0] for _, command in batch_commands(cmd))
    except RestError:
        return ()


def batch_error_codes(payload: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """(command key, error code) of every failed command in a ``batch`` answer, for the request log."""
    result = payload.get("result")
    errors = result.get("result_error") if isinstance(result, dict) else None
    if isinstance(errors, list):  # keys 0..n-1 come back as a JSON list
        errors = {str(index): value for index, value in enumerate(errors)}
    if not isinstance(errors, dict):
        return ()
    return tuple((str(key), str(value.get("error", ""))) for key, value in errors.items() if isinstance(value, dict))


def batch(
    params: dict[str, Any],
    invoke: Callable[[str, dict[str, Any]], MethodResult],
    timing: Callable[[float, MethodResult], dict[str, Any]],
) -> MethodResult:
    """``batch`` as the REST module runs it: ``invoke`` runs one command as a direct call would (or raises its
    RestError), ``timing`` writes a command's ``time`` block from its start."""
    commands = batch_commands(params.get("cmd"))
    if any(split_command(command)[0] == "batch" for _, command in commands):
        raise RestError(405, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage")
    blocked_until: list[int] = []

    def execute(method: str, command_params: dict[str, Any]) -> dict[str, Any]:
        started = time.time()
        try:
            outcome = invoke(method, command_params)
        except RestError as exc:
            if isinstance(exc, OperatingLimitError):
                blocked_until.append(exc.reset_at)
            return exc.body()
        return success(outcome, timing(started, outcome))

    sections = run_batch(commands, truthy(params.get("halt", 0)), execute)
    # The batch call itself is never charged; a blocked command's unblock time shows in the batch's time.
    return MethodResult(
        sections,
        operating_reset_at=max(blocked_until) if blocked_until else None,
        is_batch=True,
    )
