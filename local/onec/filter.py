"""A small OData v3 $filter parser and evaluator for the 1C sandbox: tokenizer, recursive descent, no eval().

Grammar (lowest precedence first)::

    or_expr    := and_expr ("or" and_expr)*
    and_expr   := unary ("and" unary)*
    unary      := "not" unary | comparison
    comparison := primary (("eq"|"ne"|"gt"|"ge"|"lt"|"le") primary)*
    primary    := "(" or_expr ")" | literal | function "(" args ")" | property

Functions: substringof, startswith, endswith and 1C's typed reference `cast(guid'…', 'Document_X')`, which
compares with a composite property (`ДокументОснование eq cast(…)` checks the value and `ДокументОснование_Type`)
or with a single-type `…_Key` property (the GUID only).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

PARSE_ERROR_CODE = "14"
UNKNOWN_PROPERTY_CODE = "10"

_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TOKEN_RE = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<typed>(?:guid|datetime)'[^']*')
    | (?P<string>'(?:[^']|'')*')
    | (?P<open_quote>')
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<name>[^\W\d]\w*)
    | (?P<punct>[(),])
    """,
    re.VERBOSE,
)
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_CONSTANTS: dict[str, Any] = {"true": True, "false": False, "null": None}
_KEYWORDS = frozenset({"and", "or", "not", *_COMPARISONS, *_CONSTANTS})
_FUNCTION_ARITY = {"substringof": 2, "startswith": 2, "endswith": 2, "cast": 2}
TYPE_NAMESPACE = "StandardODATA."


class FilterError(Exception):
    """A filter that cannot be parsed or evaluated; `code` is the 1C OData error code to answer with."""

    def __init__(self, message: str, code: str = PARSE_ERROR_CODE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Guid:
    value: str  # lower case


@dataclass(frozen=True)
class TypedRef:
    """A reference with its type, as `cast(guid'…', 'Document_X')` gives it; `type` without the namespace."""

    value: str  # lower case
    type: str


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Property:
    name: str


@dataclass(frozen=True)
class Comparison:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Logical:
    op: str  # "and" / "or"
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


Node = Literal | Property | Comparison | Logical | Not | Call


@dataclass(frozen=True)
class _Token:
    kind: str  # typed, string, number, name, punct
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise FilterError(f"Недопустимый символ «{text[pos]}» в позиции {pos + 1} условия $filter")
        kind = match.lastgroup or ""
        if kind == "open_quote":
            raise FilterError(f"Незакрытый строковый литерал в позиции {pos + 1} условия $filter")
        if kind != "space":
            tokens.append(_Token(kind, match.group(), pos))
        pos = match.end()
    return tokens


def _typed_literal(token: _Token) -> Literal:
    prefix, _, rest = token.text.partition("'")
    body = rest[:-1]
    if prefix == "guid":
        if not _GUID_RE.match(body):
            raise FilterError(f"Неверный литерал GUID: {token.text}")
        return Literal(Guid(body.lower()))
    try:
        return Literal(datetime.strptime(body, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        raise FilterError(f"Неверный литерал даты (нужно datetime'ГГГГ-ММ-ДДTчч:мм:сс'): {token.text}") from None


class _Parser:
    def __init__(self, text: str) -> None:
        self._tokens = _tokenize(text)
        self._index = 0

    def parse(self) -> Node:
        if not self._tokens:
            raise FilterError("Пустое условие $filter")
        node = self._or()
        token = self._peek()
        if token is not None:
            raise FilterError(f"Лишняя лексема «{token.text}» в позиции {token.pos + 1} условия $filter")
        return node

    def _peek(self) -> _Token | None:
        return self._tokens[self._index] if self._index < len(self._tokens) else None

    def _next(self, expected: str) -> _Token:
        token = self._peek()
        if token is None:
            raise FilterError(f"Условие $filter оборвалось: ожидается {expected}")
        self._index += 1
        return token

    def _accept(self, *words: str) -> str | None:
        token = self._peek()
        if token is not None and token.kind in ("name", "punct") and token.text in words:
            self._index += 1
            return token.text
        return None

    def _expect(self, text: str) -> None:
        token = self._next(f"«{text}»")
        if token.text != text:
            raise FilterError(f"Ожидается «{text}», а найдено «{token.text}» в позиции {token.pos + 1}")

    def _or(self) -> Node:
        node = self._and()
        while self._accept("or"):
            node = Logical("or", node, self._and())
        return node

    def _and(self) -> Node:
        node = self._unary()
        while self._accept("and"):
            node = Logical("and", node, self._unary())
        return node

    def _unary(self) -> Node:
        if self._accept("not"):
            return Not(self._unary())
        return self._comparison()

    def _comparison(self) -> Node:
        node = self._primary()
        while (op := self._accept(*_COMPARISONS)) is not None:
            node = Comparison(op, node, self._primary())
        return node

    def _primary(self) -> Node:
        token = self._next("операнд")
        if token.text == "(" and token.kind == "punct":
            node = self._or()
            self._expect(")")
            return node
        if token.kind == "string":
            return Literal(token.text[1:-1].replace("''", "'"))
        if token.kind == "typed":
            return _typed_literal(token)
        if token.kind == "number":
            return Literal(Decimal(token.text))
        if token.kind == "name" and token.text in _CONSTANTS:
            return Literal(_CONSTANTS[token.text])
        if token.kind != "name" or token.text in _KEYWORDS:
            raise FilterError(f"Ожидается операнд, а найдено «{token.text}» в позиции {token.pos + 1}")
        if self._accept("("):
            return self._call(token)
        return Property(token.text)

    def _call(self, name: _Token) -> Call:
        arity = _FUNCTION_ARITY.get(name.text)
        if arity is None:
            raise FilterError(f"Неизвестная функция {name.text} в позиции {name.pos + 1}")
        args = [self._or()]
        while self._accept(","):
            args.append(self._or())
        self._expect(")")
        if len(args) != arity:
            raise FilterError(f"Функция {name.text} ожидает {arity} аргумента, передано {len(args)}")
        if name.text == "cast":
            target, type_name = args
            if not (isinstance(type_name, Literal) and isinstance(type_name.value, str) and type_name.value):
                raise FilterError(f"Функция cast ожидает имя типа строкой, в позиции {name.pos + 1}")
            if not (
                isinstance(target, Property) or (isinstance(target, Literal) and isinstance(target.value, Guid | str))
            ):
                raise FilterError(f"Функция cast ожидает ссылку guid'…' или свойство, в позиции {name.pos + 1}")
        return Call(name.text, tuple(args))


def parse_filter(text: str, known_properties: Container[str] | None = None) -> Node:
    """Parse `text`; with `known_properties`, reject any other property name (code 10)."""
    node = _Parser(text).parse()
    if known_properties is not None:
        for name in sorted(property_names(node)):
            if name not in known_properties:
                raise FilterError(f"Свойство не найдено: {name}", UNKNOWN_PROPERTY_CODE)
    return node


@dataclass(frozen=True)
class IndexedRange:
    """What an index selects for a filter: one `Ref_Key`, or a range of `Date` (ISO text, inclusive?)."""

    ref_key: str | None = None
    low: tuple[str, bool] | None = None
    high: tuple[str, bool] | None = None


_FLIPPED = {"eq": "eq", "ge": "le", "gt": "lt", "le": "ge", "lt": "gt"}


def indexed_range(node: Node) -> IndexedRange | None:
    """The index a base would use for `node`: an `eq` on `Ref_Key`, or comparisons of `Date` with datetime
    literals, among the conditions joined by the top-level `and`s. None when only a full scan answers it."""
    conjuncts: list[Node] = []
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, Logical) and current.op == "and":
            pending.extend((current.left, current.right))
        else:
            conjuncts.append(current)
    ref_key: str | None = None
    low: tuple[str, bool] | None = None
    high: tuple[str, bool] | None = None
    for condition in conjuncts:
        if not isinstance(condition, Comparison) or condition.op not in _FLIPPED:
            continue
        op, left, right = condition.op, condition.left, condition.right
        if isinstance(right, Property) and isinstance(left, Literal):
            op, left, right = _FLIPPED[op], right, left
        if not isinstance(left, Property) or not isinstance(right, Literal):
            continue
        if left.name == "Ref_Key" and op == "eq" and isinstance(right.value, Guid):
            ref_key = right.value.value
        elif left.name == "Date" and isinstance(right.value, datetime):
            moment = right.value.isoformat()
            if op in ("ge", "gt", "eq"):
                bound = (moment, op != "gt")
                low = bound if low is None or bound[0] > low[0] or (bound[0] == low[0] and not bound[1]) else low
            if op in ("le", "lt", "eq"):
                bound = (moment, op != "lt")
                high = bound if high is None or bound[0] < high[0] or (bound[0] == high[0] and not bound[1]) else high
    if ref_key is not None:
        return IndexedRange(ref_key=ref_key)
    if low is None and high is None:
        return None
    return IndexedRange(low=low, high=high)


def property_names(node: Node) -> set[str]:
    if isinstance(node, Property):
        return {node.name}
    if isinstance(node, Comparison | Logical):
        return property_names(node.left) | property_names(node.right)
    if isinstance(node, Not):
        return property_names(node.operand)
    if isinstance(node, Call):
        return set().union(*(property_names(arg) for arg in node.args))
    return set()


def matches(node: Node, row: Mapping[str, Any]) -> bool:
    """True when `row` satisfies the filter."""
    value = _evaluate(node, row)
    if not isinstance(value, bool):
        raise FilterError("Условие $filter должно быть логическим выражением")
    return value


def _evaluate(node: Node, row: Mapping[str, Any]) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Property):
        value = row.get(node.name)
        if node.name.endswith("_Key") and isinstance(value, str):
            return Guid(value.lower())
        return value
    if isinstance(node, Not):
        return not matches(node.operand, row)
    if isinstance(node, Logical):
        if node.op == "and":
            return matches(node.left, row) and matches(node.right, row)
        return matches(node.left, row) or matches(node.right, row)
    if isinstance(node, Comparison):
        return _compare(node.op, _operand(node.left, node.right, row), _operand(node.right, node.left, row))
    if node.name == "cast":
        return _cast(node, row)
    return _call(node.name, [_evaluate(arg, row) for arg in node.args])


def _is_cast(node: Node) -> bool:
    return isinstance(node, Call) and node.name == "cast"


def _operand(node: Node, other: Node, row: Mapping[str, Any]) -> Any:
    """A composite property compared with `cast(…)` is read as a typed reference (its value plus `_Type`)."""
    if isinstance(node, Property) and _is_cast(other) and f"{node.name}_Type" in row:
        value, kind = row.get(node.name), row.get(f"{node.name}_Type")
        if isinstance(value, str) and isinstance(kind, str):
            return TypedRef(value.lower(), kind.removeprefix(TYPE_NAMESPACE))
    return _evaluate(node, row)


def _cast(node: Call, row: Mapping[str, Any]) -> TypedRef:
    target, type_name = (_evaluate(arg, row) for arg in node.args)
    if isinstance(target, Guid):
        target = target.value
    if not isinstance(target, str) or not isinstance(type_name, str):
        raise FilterError(f"Функция cast: нельзя привести {target!r} к типу {type_name!r}")
    return TypedRef(target.lower(), type_name.removeprefix(TYPE_NAMESPACE))


def _coerce(left: Any, right: Any) -> tuple[Any, Any]:
    """Bring a property value and a literal to one comparable type, as 1C does for keys, dates and numbers."""
    for a, b, swap in ((left, right, False), (right, left, True)):
        converted = b
        if isinstance(a, Guid) and isinstance(b, TypedRef):
            converted = Guid(b.value)  # a single-type `…_Key` against cast(…): the GUID decides
        elif isinstance(a, Guid) and isinstance(b, str):
            converted = Guid(b.lower())
        elif isinstance(a, datetime) and isinstance(b, str):
            try:
                converted = datetime.fromisoformat(b)
            except ValueError:
                continue
        elif isinstance(a, Decimal | int) and not isinstance(a, bool) and isinstance(b, str):
            try:
                converted = Decimal(b)
            except InvalidOperation:
                continue
            if not converted.is_finite():
                continue
        else:
            continue
        return (converted, a) if swap else (a, converted)
    return left, right


def _compare(op: str, left: Any, right: Any) -> bool:
    left, right = _coerce(left, right)
    if op in ("eq", "ne"):
        return _COMPARISONS[op](left, right)
    if left is None or right is None:
        return False
    try:
        return bool(_COMPARISONS[op](left, right))
    except TypeError:
        raise FilterError(f"Несравнимые значения в операции {op}: {left!r} и {right!r}") from None


def _text(function: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Guid):
        return value.value
    raise FilterError(f"Функция {function} ожидает строковые аргументы, получено {value!r}")


def _call(name: str, args: list[Any]) -> bool:
    first, second = (_text(name, arg) for arg in args)
    if first is None or second is None:
        return False
    if name == "substringof":  # OData v3 order: substringof(needle, haystack)
        return first in second
    if name == "startswith":
        return first.startswith(second)
    return first.endswith(second)
