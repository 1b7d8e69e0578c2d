"""The REST protocol of a Bitrix24 portal's incoming webhook: the path, the parameters, JSON answers and errors.

A call is ``/rest/<user>/<code>/<method>[.json]``: the user and the secret code authorise it (a wrong pair is 401
``NO_AUTH_FOUND``, a path of another shape 404). Parameters come from the query string and the body, JSON or
form-encoded (PHP bracket keys, :mod:`local.bitrix24.wire`). A method answers ``{"result", "next"?, "total"?,
"time"}`` with HTTP 200, or ``{"error", "error_description"}`` with the documented status (:class:`RestError`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from local.bitrix24.wire import parse_query

WRONG_AUTH = {"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"}
WRONG_PATH = {"error": "NOT_FOUND", "error_description": "Use /rest/<user>/<code>/<method>"}
INTERNAL_ERROR = {"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"}


@dataclass
class MethodResult:
    """What one REST method returns, before the protocol wraps it into an answer."""

    result: Any
    total: int | None = None
    next: int | None = None
    operating: float = 0.0  # accumulated operating seconds of the method, for the answer's time block
    operating_reset_at: int | None = None  # None: the window from now
    oldest_reset_at: float | None = None  # when the oldest live charge ages out (None: nothing counted)
    is_batch: bool = False  # the batch call itself, never charged


class RestError(Exception):
    """A method-level failure: answered as ``{"error": ..., "error_description": ...}`` with ``status``."""

    def __init__(self, status: int, error: str | int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description}


def not_found() -> RestError:
    """How the old ``crm.*`` methods answer a missing record."""
    return RestError(400, "", "Not found")


def item_not_found() -> RestError:
    """How ``crm.item.*`` answers a missing record."""
    return RestError(400, "NOT_FOUND", "Element not found")


@dataclass(frozen=True)
class RestPath:
    """A request target split as the portal reads it."""

    segments: list[str]
    method: str  # the REST method, lower-case, without ``.json``; "" when the path names none
    query: str

    @classmethod
    def parse(cls, target: str) -> RestPath:
        parts = urlsplit(target)
        segments = [unquote(segment) for segment in parts.path.split("/")]
        method = ""
        if cls._is_rest(segments):
            method = segments[4].strip().lower().removesuffix(".json")
        return cls(segments, method, parts.query)

    @staticmethod
    def _is_rest(segments: list[str]) -> bool:
        return len(segments) >= 5 and segments[1] == "rest"

    @property
    def webhook(self) -> tuple[str, str] | None:
        """The (user, code) pair of a ``/rest/<user>/<code>/<method>`` path, None for any other path."""
        return (self.segments[2], self.segments[3]) if self._is_rest(self.segments) else None

    def refusal(self, user_id: str, webhook_code: str) -> tuple[int, dict[str, Any]] | None:
        """The answer to a path that is not this webhook's (404 or 401), None when it is."""
        webhook = self.webhook
        if webhook is None:
            return 404, dict(WRONG_PATH)
        if webhook != (user_id, webhook_code):
            return 401, dict(WRONG_AUTH)
        return None


def read_params(query: str, content_type: str, body: bytes) -> dict[str, Any]:
    """The request's parameters: the query string, then the body (JSON or form-encoded) over it."""
    params = parse_query(query)
    if not body:
        return params
    text = body.decode("utf-8", errors="replace")
    if "json" in content_type.lower():
        try:
            decoded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RestError(400, "INVALID_REQUEST", f"Invalid JSON body: {exc.msg}") from exc
        if not isinstance(decoded, dict):
            raise RestError(400, "INVALID_REQUEST", "The JSON body must be an object")
        params.update(decoded)
    else:
        params.update(parse_query(text))
    return params


def success(outcome: MethodResult, time_block: dict[str, Any]) -> dict[str, Any]:
    """A method's answer: ``result``, then ``next`` and ``total`` when it pages, then ``time``."""
    answer: dict[str, Any] = {"result": outcome.result}
    if outcome.next is not None:
        answer["next"] = outcome.next
    if outcome.total is not None:
        answer["total"] = outcome.total
    answer["time"] = time_block
    return answer
