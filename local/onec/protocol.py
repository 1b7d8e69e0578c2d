"""1C's standard OData protocol as the sandbox speaks it: the service root, Basic authentication, request and
answer shapes, JSON as 1C writes it, errors in 1C's `odata.error` shape, and the threaded HTTP server.

Answer formats (`$format`/Accept → Atom or JSON) are in :mod:`local.onec.formats`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ROOT_PATH = "/bp30/odata/standard.odata/"
INTERNAL_ERROR_MESSAGE = (
    "Произошла внутренняя ошибка OData сервиса. Дополнительные сведения можно найти в технологическом журнале."
)
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
RESOURCE_RE = re.compile(r"^(?P<set>[^()/]*)(?:\((?P<key>[^)]*)\))?(?P<tail>/.*)?$")
JSON_HEADERS = {"Content-Type": "application/json;charset=utf-8", "DataServiceVersion": "3.0"}
XML_HEADERS = {"Content-Type": "application/xml;charset=utf-8", "DataServiceVersion": "3.0"}


class ODataError(Exception):
    """An answer in 1C's `odata.error` shape."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class Request:
    method: str
    entity_set: str
    key: str | None
    tail: str | None
    query: dict[str, str]
    body: bytes
    headers: Mapping[str, str]  # names in lower case


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    rows_examined: int = 0


def to_json(value: Any) -> str:
    """Serialize like 1C: Decimal money as exact JSON numbers (trailing zeros dropped), Cyrillic unescaped."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    if isinstance(value, int | float | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{to_json(str(k))}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(to_json(item) for item in value) + "]"
    raise TypeError(f"cannot serialize {type(value).__name__}")


def json_response(
    status: int, payload: dict[str, Any], metadata: bool, headers: dict[str, str] | None = None
) -> Response:
    """A JSON answer; without `metadata` (`odata=nometadata`) the `odata.metadata` link is left out."""
    if not metadata:
        payload = {k: v for k, v in payload.items() if k != "odata.metadata"}
    return Response(status, to_json(payload).encode("utf-8"), {**JSON_HEADERS, **(headers or {})})


def error_response(error: ODataError) -> Response:
    payload = {"odata.error": {"code": error.code, "message": {"lang": "ru", "value": error.message}}}
    return Response(error.status, to_json(payload).encode("utf-8"), {**JSON_HEADERS, **error.headers})


def parse_key(raw: str | None) -> str | None:
    """The GUID of `Set(guid'…')`, lower-cased; None without a key."""
    if raw is None:
        return None
    match = re.fullmatch(r"guid'([^']*)'", raw)
    if match is None or not GUID_RE.match(match[1]):
        raise ODataError(400, "6", f"Неверное значение ключа: ({raw}); ожидается (guid'…')")
    return match[1].lower()


def action_name(tail: str) -> str:
    name = tail.strip("/")
    return name[:-2] if name.endswith("()") else name


def authorized(header: str | None, credentials: tuple[bytes, bytes]) -> bool:
    """Whether an `Authorization: Basic …` header carries these credentials (UTF-8 user and password)."""
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, colon, password = base64.b64decode(token.strip(), validate=True).partition(b":")
    except binascii.Error:
        return False
    expected_user, expected_password = credentials
    # Evaluate both comparisons so timing does not reveal which one failed.
    same_user = hmac.compare_digest(user, expected_user)
    same_password = hmac.compare_digest(password, expected_password)
    return bool(colon) and same_user and same_password


def unauthorized() -> ODataError:
    return ODataError(
        401, "20", "Не пройдена аутентификация пользователя OData", {"WWW-Authenticate": 'Basic realm="1C"'}
    )


def parse_body(raw: bytes) -> dict[str, Any]:
    """A JSON request body: an object, numbers as Decimal, NaN and Infinity refused."""
    try:
        body = json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ODataError(400, "1", f"Не удалось разобрать тело запроса как JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ODataError(400, "2", "Тело запроса должно быть JSON-объектом")
    return body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"недопустимое число {name}")


def etag_matches(if_match: str, data_version: str) -> bool:
    """`If-Match` carries the DataVersion as is; quoted and weak forms and `*` are read as HTTP has them."""
    tags = [tag.strip() for tag in if_match.split(",")]
    return any(tag == "*" or tag.removeprefix("W/").strip('"') == data_version for tag in tags)


# ---- the HTTP server -------------------------------------------------------------------------------------

Dispatch = Callable[[str, str, str | None, bytes, Mapping[str, str]], Response]
"""Answers one request: method, raw path, Authorization header, body, headers (names in lower case)."""


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], dispatch: Dispatch) -> None:
        super().__init__(address, _Handler)
        self.dispatch = dispatch


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes; avoid the 40 ms delayed-ACK stall
    server: Server

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        response = self.server.dispatch(method, self.path, self.headers.get("Authorization"), body, headers)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)
