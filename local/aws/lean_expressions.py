"""DynamoDB's condition, key-condition, update and projection expressions, for the lean local table
(local.aws.lean_dynamodb): parsed once per expression text, evaluated against an item of AttributeValues.

Only top-level attributes (`name` or `#name`), as the bridge uses them; a nested path is refused with
ValidationException rather than guessed. Semantics as DynamoDB documents them (Developer Guide,
"Condition and filter expressions, operators, and functions" and "Update expressions"): comparisons of
different types or with a missing attribute are false, except `<>`, which is true; `a < b` compares numbers
numerically and strings by code point; every operand of an update reads the item as it was before the update;
`if_not_exists(path, value)`; SET `+`/`-` on numbers; ADD to a number or a set, DELETE from a set.
tests/local/aws/test_lean_parity.py runs the bridge's expressions against moto and against this and asserts
identical answers.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

Item = dict[str, dict[str, Any]]
Value = dict[str, Any]


class ExpressionError(ValueError):
    """DynamoDB answers ValidationException."""


_TOKEN = re.compile(r"\s*(<>|<=|>=|[=<>(),+\-.\[\]]|#[A-Za-z0-9_]+|:[A-Za-z0-9_]+|[A-Za-z_][A-Za-z0-9_]*|\d+)")


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ExpressionError(f"Invalid expression: unexpected text at {text[position:]!r}")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


class _Reader:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self, ahead: int = 0) -> str:
        index = self.at + ahead
        return self.tokens[index] if index < len(self.tokens) else ""

    def keyword(self, word: str) -> bool:
        if self.peek().upper() == word:
            self.at += 1
            return True
        return False

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if not token or (expected is not None and token != expected):
            raise ExpressionError(f"Invalid expression: expected {expected or 'more'}, found {token or 'the end'!r}")
        self.at += 1
        return token

    def end(self) -> None:
        if self.peek():
            raise ExpressionError(f"Invalid expression: unexpected {self.peek()!r}")


# ---- operands ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """A request's ExpressionAttributeNames and ExpressionAttributeValues (`check` them first)."""

    names: Mapping[str, str]
    values: Mapping[str, Value]

    def check(self, *texts: str | None) -> None:
        """As DynamoDB: every placeholder used is defined, and every one defined is used."""
        used = {token for text in texts if text for token in placeholders(text)}
        for defined, prefix, what in ((self.names, "#", "names"), (self.values, ":", "values")):
            if missing := sorted(t for t in used if t.startswith(prefix) and t not in defined):
                raise ExpressionError(
                    f"An expression attribute {what[:-1]} used in expression is not defined: {missing[0]}"
                )
            if unused := sorted(set(defined) - used):
                raise ExpressionError(
                    f"Value provided in ExpressionAttribute{what.title()} unused in expressions: keys: {{{', '.join(unused)}}}"
                )

    def name(self, token: str) -> str:
        return self.names[token] if token.startswith("#") else token

    def value(self, token: str) -> Value:
        return self.values[token]


@lru_cache(maxsize=512)
def placeholders(text: str) -> frozenset[str]:
    return frozenset(token for token in _tokens(text) if token[0] in "#:")


Operand = Callable[[Item, Context], Value | None]


@lru_cache(maxsize=1)
def reserved_words() -> frozenset[str]:
    """DynamoDB's reserved words (an attribute so named needs a #placeholder), from the list moto ships; found
    without importing moto, which takes most of a second."""
    spec = importlib.util.find_spec("moto")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    words = Path(next(iter(spec.submodule_search_locations))) / "dynamodb" / "parsing" / "reserved_keywords.txt"
    return frozenset(line.strip().upper() for line in words.read_text(encoding="utf-8").splitlines() if line.strip())


def _path(reader: _Reader) -> str:
    token = reader.take()
    if not (token.startswith("#") or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token)):
        raise ExpressionError(f"Invalid expression: {token!r} is not an attribute")
    if not token.startswith("#") and token.upper() in reserved_words():
        raise ExpressionError(f"Attribute name is a reserved keyword; reserved keyword: {token}")
    if reader.peek() in (".", "["):
        raise ExpressionError("nested attribute paths are not supported by the lean local table")
    return token


def _attribute(token: str) -> Operand:
    return lambda item, context: item.get(context.name(token))


def _operand(reader: _Reader) -> Operand:
    token = reader.peek()
    if token.startswith(":"):
        reader.take()
        return lambda item, context: context.value(token)
    if token.lower() == "size" and reader.peek(1) == "(":
        reader.take()
        reader.take("(")
        inner = _attribute(_path(reader))
        reader.take(")")
        return lambda item, context: _size(inner(item, context))
    return _attribute(_path(reader))


def _size(value: Value | None) -> Value | None:
    if value is None:
        return None
    kind, raw = next(iter(value.items()))
    if kind in ("S", "B", "L", "M", "SS", "NS", "BS"):
        return {"N": str(len(raw))}
    return None


def _number(value: Value) -> Decimal:
    return Decimal(value["N"])


def equal(left: Value | None, right: Value | None) -> bool:
    if left is None or right is None:
        return False
    (left_kind, left_raw), (right_kind, right_raw) = next(iter(left.items())), next(iter(right.items()))
    if left_kind != right_kind:
        return False
    if left_kind == "N":
        return Decimal(left_raw) == Decimal(right_raw)
    if left_kind in ("SS", "BS"):
        return set(left_raw) == set(right_raw)
    if left_kind == "NS":
        return {Decimal(n) for n in left_raw} == {Decimal(n) for n in right_raw}
    return bool(left_raw == right_raw)


def _order(left: Value | None, right: Value | None) -> int | None:
    """-1, 0 or 1 for two scalars of one ordered type (N, S, B); None when they cannot be compared."""
    if left is None or right is None:
        return None
    (left_kind, left_raw), (right_kind, right_raw) = next(iter(left.items())), next(iter(right.items()))
    if left_kind != right_kind or left_kind not in ("N", "S", "B"):
        return None
    a, b = (Decimal(left_raw), Decimal(right_raw)) if left_kind == "N" else (left_raw, right_raw)
    return (a > b) - (a < b)


_COMPARE: dict[str, Callable[[Value | None, Value | None], bool]] = {
    "=": equal,
    "<>": lambda a, b: not equal(a, b),
    "<": lambda a, b: (o := _order(a, b)) is not None and o < 0,
    "<=": lambda a, b: (o := _order(a, b)) is not None and o <= 0,
    ">": lambda a, b: (o := _order(a, b)) is not None and o > 0,
    ">=": lambda a, b: (o := _order(a, b)) is not None and o >= 0,
}


# ---- conditions --------------------------------------------------------------------------------------------

Condition = Callable[[Item, Context], bool]


def _or(reader: _Reader) -> Condition:
    parts = [_and(reader)]
    while reader.keyword("OR"):
        parts.append(_and(reader))
    return parts[0] if len(parts) == 1 else (lambda item, context: any(part(item, context) for part in parts))


def _and(reader: _Reader) -> Condition:
    parts = [_not(reader)]
    while reader.keyword("AND"):
        parts.append(_not(reader))
    return parts[0] if len(parts) == 1 else (lambda item, context: all(part(item, context) for part in parts))


def _not(reader: _Reader) -> Condition:
    if reader.keyword("NOT"):
        inner = _not(reader)
        return lambda item, context: not inner(item, context)
    return _primary(reader)


_FUNCTIONS = ("attribute_exists", "attribute_not_exists", "begins_with", "contains", "attribute_type")


def _primary(reader: _Reader) -> Condition:
    if reader.peek() == "(":
        reader.take()
        inner = _or(reader)
        reader.take(")")
        return inner
    function = reader.peek().lower()
    if function in _FUNCTIONS and reader.peek(1) == "(":
        reader.at += 2
        path = _path(reader)
        argument = None
        if function != "attribute_exists" and function != "attribute_not_exists":
            reader.take(",")
            argument = _operand(reader)
        reader.take(")")
        return _function(function, path, argument)
    left = _operand(reader)
    if reader.keyword("IN"):
        reader.take("(")
        options = [_operand(reader)]
        while reader.peek() == ",":
            reader.take()
            options.append(_operand(reader))
        reader.take(")")
        return lambda item, context: any(equal(left(item, context), o(item, context)) for o in options)
    if reader.keyword("BETWEEN"):
        low = _operand(reader)
        if not reader.keyword("AND"):
            raise ExpressionError("Invalid expression: BETWEEN needs AND")
        high = _operand(reader)

        def between(item: Item, context: Context) -> bool:
            value = left(item, context)
            return _COMPARE[">="](value, low(item, context)) and _COMPARE["<="](value, high(item, context))

        return between
    comparator = reader.take()
    if comparator not in _COMPARE:
        raise ExpressionError(f"Invalid expression: {comparator!r} is not a comparator")
    right = _operand(reader)
    compare = _COMPARE[comparator]
    return lambda item, context: compare(left(item, context), right(item, context))


def _function(function: str, path: str, argument: Operand | None) -> Condition:
    attribute = _attribute(path)
    if function == "attribute_exists":
        return lambda item, context: attribute(item, context) is not None
    if function == "attribute_not_exists":
        return lambda item, context: attribute(item, context) is None
    assert argument is not None  # noqa: S101 - the parser read it

    def test(item: Item, context: Context) -> bool:
        value, other = attribute(item, context), argument(item, context)
        if value is None or other is None:
            return False
        kind, raw = next(iter(value.items()))
        other_kind, other_raw = next(iter(other.items()))
        if function == "attribute_type":
            return bool(kind == other_raw)
        if function == "begins_with":
            return kind == other_kind and kind in ("S", "B") and str(raw).startswith(str(other_raw))
        if kind == "S":  # contains
            return other_kind == "S" and other_raw in raw
        if kind in ("SS", "NS", "BS"):
            return other_kind == kind[0] and other_raw in raw
        if kind == "L":
            return any(equal(entry, other) for entry in raw)
        return False

    return test


@lru_cache(maxsize=512)
def condition(text: str) -> Condition:
    reader = _Reader(text)
    parsed = _or(reader)
    reader.end()
    return parsed


# ---- updates -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Update:
    sets: tuple[tuple[str, Operand], ...]
    removes: tuple[str, ...]
    adds: tuple[tuple[str, Operand], ...]
    deletes: tuple[tuple[str, Operand], ...]

    def targets(self, context: Context) -> list[str]:
        names = [path for path, _ in self.sets] + list(self.removes)
        names += [path for path, _ in self.adds] + [path for path, _ in self.deletes]
        resolved = [context.name(name) for name in names]
        if len(set(resolved)) != len(resolved):
            raise ExpressionError("Invalid UpdateExpression: Two document paths overlap with each other")
        return resolved

    def apply(self, old: Item, context: Context) -> Item:
        """The item after the update; every operand reads `old`."""
        new = dict(old)
        for path, value in self.sets:
            computed = value(old, context)
            if computed is None:
                raise ExpressionError("The provided expression refers to an attribute that does not exist in the item")
            new[context.name(path)] = computed
        for path in self.removes:
            new.pop(context.name(path), None)
        for path, value in self.adds:
            name = context.name(path)
            new[name] = _add(old.get(name), _required(value(old, context)))
        for path, value in self.deletes:
            name = context.name(path)
            remaining = _delete(old.get(name), _required(value(old, context)))
            if remaining is None:
                new.pop(name, None)
            else:
                new[name] = remaining
        return new


def _required(value: Value | None) -> Value:
    if value is None:
        raise ExpressionError("The provided expression refers to an attribute that does not exist in the item")
    return value


def _add(current: Value | None, value: Value) -> Value:
    kind = next(iter(value))
    if kind == "N":
        base = Decimal(0) if current is None else _typed(current, "N", "ADD")
        return {"N": _format_number(base + _number(value))}
    if kind in ("SS", "NS", "BS"):
        existing = [] if current is None else list(_typed(current, kind, "ADD"))
        return {kind: existing + [entry for entry in value[kind] if entry not in existing]}
    raise ExpressionError("An operand in the update expression has an incorrect data type")


def _delete(current: Value | None, value: Value) -> Value | None:
    kind = next(iter(value))
    if kind not in ("SS", "NS", "BS"):
        raise ExpressionError("An operand in the update expression has an incorrect data type")
    if current is None:
        return None
    remaining = [entry for entry in _typed(current, kind, "DELETE") if entry not in value[kind]]
    return {kind: remaining} if remaining else None


def _typed(value: Value, kind: str, action: str) -> Any:
    if kind not in value:
        raise ExpressionError(f"An operand in the update expression has an incorrect data type ({action})")
    return Decimal(value["N"]) if kind == "N" else value[kind]


def _format_number(number: Decimal) -> str:
    """As DynamoDB answers a number: no exponent, no trailing zeros."""
    text = format(number.normalize(), "f")
    return text if text not in ("-0",) else "0"


def _value_expression(reader: _Reader) -> Operand:
    left = _update_operand(reader)
    if reader.peek() in ("+", "-"):
        sign = reader.take()
        right = _update_operand(reader)

        def arithmetic(item: Item, context: Context) -> Value | None:
            a, b = _required(left(item, context)), _required(right(item, context))
            if "N" not in a or "N" not in b:
                raise ExpressionError("An operand in the update expression has an incorrect data type")
            total = _number(a) + _number(b) if sign == "+" else _number(a) - _number(b)
            return {"N": _format_number(total)}

        return arithmetic
    return left


def _update_operand(reader: _Reader) -> Operand:
    function = reader.peek().lower()
    if function == "if_not_exists" and reader.peek(1) == "(":
        reader.at += 2
        attribute = _attribute(_path(reader))
        reader.take(",")
        fallback = _value_expression(reader)
        reader.take(")")

        def if_not_exists(item: Item, context: Context) -> Value | None:
            current = attribute(item, context)
            return current if current is not None else fallback(item, context)

        return if_not_exists
    if function == "list_append" and reader.peek(1) == "(":
        reader.at += 2
        first = _value_expression(reader)
        reader.take(",")
        second = _value_expression(reader)
        reader.take(")")

        def list_append(item: Item, context: Context) -> Value | None:
            a, b = _required(first(item, context)), _required(second(item, context))
            if "L" not in a or "L" not in b:
                raise ExpressionError("An operand in the update expression has an incorrect data type")
            return {"L": [*a["L"], *b["L"]]}

        return list_append
    return _operand(reader)


@lru_cache(maxsize=512)
def update(text: str) -> Update:
    reader = _Reader(text)
    sets: list[tuple[str, Operand]] = []
    removes: list[str] = []
    adds: list[tuple[str, Operand]] = []
    deletes: list[tuple[str, Operand]] = []
    seen: set[str] = set()
    while reader.peek():
        clause = reader.take().upper()
        if clause not in ("SET", "REMOVE", "ADD", "DELETE") or clause in seen:
            raise ExpressionError(f"Invalid UpdateExpression: unexpected {clause!r}")
        seen.add(clause)
        while True:
            path = _path(reader)
            if clause == "SET":
                reader.take("=")
                sets.append((path, _value_expression(reader)))
            elif clause == "REMOVE":
                removes.append(path)
            else:
                (adds if clause == "ADD" else deletes).append((path, _operand(reader)))
            if reader.peek() != ",":
                break
            reader.take()
    if not seen:
        raise ExpressionError("Invalid UpdateExpression: The expression can not be empty")
    return Update(tuple(sets), tuple(removes), tuple(adds), tuple(deletes))


@lru_cache(maxsize=512)
def projection(text: str) -> tuple[str, ...]:
    reader = _Reader(text)
    paths = [_path(reader)]
    while reader.peek() == ",":
        reader.take()
        paths.append(_path(reader))
    reader.end()
    return tuple(paths)


def order_key(value: Value) -> tuple[int, Any]:
    """How a range key sorts (numbers numerically, strings and binaries by their bytes)."""
    kind, raw = next(iter(value.items()))
    if kind == "N":
        return (0, Decimal(raw))
    return (1, str(raw).encode()) if kind == "S" else (2, raw)
