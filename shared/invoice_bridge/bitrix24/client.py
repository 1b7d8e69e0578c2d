"""A small Bitrix24 REST client over an incoming-webhook URL: single calls and `batch`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

MAX_BATCH_COMMANDS = 50
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


class Bitrix24Error(RuntimeError):
    def __init__(self, method: str, status: int, code: str, description: str) -> None:
        self.method = method
        self.status = status
        self.code = code
        self.description = description
        super().__init__(f"Bitrix24 {method} answered {status} {code or '(no code)'}: {description or '(no text)'}")

    @property
    def transient(self) -> bool:
        return self.status in TRANSIENT_STATUSES or self.status == 0


@dataclass(frozen=True)
class BatchRef:
    """`$result[command][path…]`: a value the portal fills in from an earlier command of the same batch."""

    command: str
    path: tuple[str | int, ...]

    def render(self) -> str:
        return f"$result[{self.command}]" + "".join(f"[{part}]" for part in self.path)


@dataclass(frozen=True)
class BatchCommandError:
    code: str
    description: str


@dataclass(frozen=True)
class BatchResult:
    results: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, BatchCommandError] = field(default_factory=dict)


def build_query(params: Mapping[str, Any]) -> str:
    """PHP-style query string (`filter[ID]=1`), leaving batch references unencoded so the portal resolves them."""
    parts: list[str] = []

    def add(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                add(f"{prefix}[{key}]", inner)
        elif isinstance(value, (list, tuple)):
            for index, inner in enumerate(value):
                add(f"{prefix}[{index}]", inner)
        elif isinstance(value, BatchRef):
            parts.append(f"{quote(prefix, safe='[]')}={value.render()}")
        else:
            parts.append(f"{quote(prefix, safe='[]')}={quote(_scalar(value), safe='')}")

    for key, value in params.items():
        add(key, value)
    return "&".join(parts)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "Y" if value else "N"
    return str(value)


def _error_code(raw: Any) -> str:
    # Bitrix24 sends the code as a string, an empty string or an integer.
    return "" if raw is None else str(raw)


class Bitrix24Client:
    def __init__(self, webhook_url: str, *, timeout: float, session: requests.Session | None = None) -> None:
        self._base = webhook_url if webhook_url.endswith("/") else webhook_url + "/"
        self._timeout = timeout
        self._session = session or _session_with_rate_limit_retries()
        self.request_count = 0

    def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        payload = self._post(method, dict(params or {}))
        return payload.get("result")

    def batch(self, commands: Mapping[str, tuple[str, Mapping[str, Any]]], *, halt: bool = False) -> BatchResult:
        if len(commands) > MAX_BATCH_COMMANDS:
            raise ValueError(f"a batch takes at most {MAX_BATCH_COMMANDS} commands, got {len(commands)}")
        cmd = {key: f"{method}?{build_query(params)}" for key, (method, params) in commands.items()}
        payload = self._post("batch", {"halt": 1 if halt else 0, "cmd": cmd})
        body = payload.get("result")
        if not isinstance(body, dict):
            raise Bitrix24Error("batch", 200, "UNEXPECTED_ANSWER", "batch result is not an object")
        raw_results = body.get("result")
        results = dict(raw_results) if isinstance(raw_results, dict) else {}
        unanswered = [key for key in commands if key not in results]
        return BatchResult(results=results, errors=_batch_errors(body.get("result_error"), unanswered))

    def _post(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        self.request_count += 1
        try:
            response = self._session.post(self._base + method, json=body, timeout=self._timeout)
        except requests.RequestException as exc:
            raise Bitrix24Error(method, 0, type(exc).__name__, "network error talking to the portal") from exc
        try:
            payload = json.loads(response.text, parse_float=Decimal)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise Bitrix24Error(method, response.status_code, "UNEXPECTED_ANSWER", "the answer is not a JSON object")
        if response.status_code >= 400 or "error" in payload:
            raise Bitrix24Error(
                method,
                response.status_code,
                _error_code(payload.get("error")),
                str(payload.get("error_description") or ""),
            )
        return payload


def _batch_errors(raw: Any, unanswered: list[str]) -> dict[str, BatchCommandError]:
    """`result_error` is a dict keyed by command or, seen in real answers, a bare list: then it belongs, in
    order, to the commands that have no result."""
    if isinstance(raw, dict):
        items = list(raw.items())
    elif isinstance(raw, list):
        items = list(zip(unanswered, raw, strict=False))
    else:
        return {}
    errors: dict[str, BatchCommandError] = {}
    for key, value in items:
        if isinstance(value, dict):
            errors[str(key)] = BatchCommandError(
                _error_code(value.get("error")), str(value.get("error_description") or "")
            )
    return errors


def _session_with_rate_limit_retries() -> requests.Session:
    """503 QUERY_LIMIT_EXCEEDED means the request was refused before running, so any method may repeat it."""
    retry = Retry(
        total=4,
        connect=0,
        read=0,
        status_forcelist=(503,),
        allowed_methods=None,
        backoff_factor=0.5,
        backoff_jitter=0.25,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session
