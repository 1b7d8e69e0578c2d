"""A small Bitrix24 REST client over an incoming-webhook URL: single calls and `batch`."""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

MAX_BATCH_COMMANDS = 50
MAX_REDIRECTS = 2
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
THROTTLE_STATUSES = frozenset({429, 503})  # the portal's rate limits: 429 OPERATION_TIME_LIMIT, 503 QUERY_LIMIT


class Bitrix24Error(RuntimeError):
    def __init__(self, method: str, status: int, code: str, description: str, *, reset_at: float | None = None) -> None:
        self.method = method
        self.reset_at = reset_at  # operating_reset_at of a 429, unix seconds
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
    totals: dict[str, int] = field(default_factory=dict)  # result_total: a list command's row count
    nexts: dict[str, int] = field(default_factory=dict)  # result_next: `start` of a list command's next page


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
    """Calls through an incoming-webhook URL.

    503 QUERY_LIMIT_EXCEEDED is retried with backoff by the session (the portal refused before running the
    call). 429 OPERATION_TIME_LIMIT is waited out when `operating_reset_at` falls within `remaining_seconds()`,
    else raised as transient so the message goes back to SQS. 5xx and network errors are retried a few times
    for reads only. A 302 to a new portal domain is followed and remembered. 400/401/403 are never retried.
    """

    def __init__(
        self,
        webhook_url: str,
        *,
        timeout: float,
        session: requests.Session | None = None,
        read_retries: int = 2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._base = webhook_url if webhook_url.endswith("/") else webhook_url + "/"
        self._timeout = timeout
        self._session = session or _session_with_rate_limit_retries()
        self._read_retries = read_retries
        self._sleep = sleep
        self.remaining_seconds: Callable[[], float] = lambda: math.inf
        self.request_count = 0
        # operating_reset_at of the latest answer that carried one: a 429 without its own is waited out by it
        self._last_reset_at: float | None = None
        self.throttled_count = 0  # 429 and 503 answers, the session's own 503 retries included

    def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        payload = self._post(method, dict(params or {}), read_only=is_read_method(method))
        return payload.get("result")

    def batch(self, commands: Mapping[str, tuple[str, Mapping[str, Any]]], *, halt: bool = False) -> BatchResult:
        if len(commands) > MAX_BATCH_COMMANDS:
            raise ValueError(f"a batch takes at most {MAX_BATCH_COMMANDS} commands, got {len(commands)}")
        cmd = {key: f"{method}?{build_query(params)}" for key, (method, params) in commands.items()}
        read_only = all(is_read_method(method) for method, _ in commands.values())
        payload = self._post("batch", {"halt": 1 if halt else 0, "cmd": cmd}, read_only=read_only)
        body = payload.get("result")
        if not isinstance(body, dict):
            raise Bitrix24Error("batch", 200, "UNEXPECTED_ANSWER", "batch result is not an object")
        results = _section(body.get("result"))
        unanswered = [key for key in commands if key not in results]
        self._remember_reset(payload)
        return BatchResult(
            results=results,
            errors=_batch_errors(body.get("result_error"), unanswered),
            totals=_counts(body.get("result_total")),
            nexts=_counts(body.get("result_next")),
        )

    def _post(self, method: str, body: dict[str, Any], *, read_only: bool) -> dict[str, Any]:
        failures = 0
        redirects = 0
        while True:
            try:
                return self._post_once(method, body)
            except _Redirect as redirect:
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    raise Bitrix24Error(method, 302, "TOO_MANY_REDIRECTS", "the portal keeps redirecting") from None
                self._base = redirect.new_base
            except Bitrix24Error as error:
                failures += 1
                wait = self._wait_before_retry(error, read_only, failures)
                if wait is None:
                    raise
                self._sleep(wait)

    def _remember_reset(self, payload: dict[str, Any]) -> None:
        reset_at = _operating_reset_at(payload)
        if reset_at is not None:
            self._last_reset_at = reset_at

    def _wait_before_retry(self, error: Bitrix24Error, read_only: bool, failures: int) -> float | None:
        if error.status == 429:
            # Real portals often leave operating_reset_at out (the docs' own samples do): then the latest one
            # seen is the best guess, and with none at all the message goes back to the queue (transient).
            reset_at = error.reset_at if error.reset_at is not None else self._last_reset_at
            if reset_at is None:
                return None
            wait = max(0.0, reset_at - time.time()) + 0.5
            return wait if failures <= 2 and wait < self.remaining_seconds() - self._timeout else None
        if read_only and (error.status == 0 or error.status >= 500) and failures <= self._read_retries:
            backoff: float = min(8.0, 0.5 * 2.0 ** (failures - 1))
            return backoff * random.uniform(0.75, 1.25)  # noqa: S311 - jitter, not cryptography
        return None

    def _post_once(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        self.request_count += 1
        try:
            response = self._session.post(self._base + method, json=body, timeout=self._timeout, allow_redirects=False)
        except requests.RequestException as exc:
            raise Bitrix24Error(method, 0, type(exc).__name__, "network error talking to the portal") from exc
        self.throttled_count += _throttled_answers(response)
        if response.is_redirect:
            raise _Redirect(_new_base(self._base, response.headers.get("Location", "")))
        try:
            payload = json.loads(response.text, parse_float=Decimal)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise Bitrix24Error(method, response.status_code, "UNEXPECTED_ANSWER", "the answer is not a JSON object")
        if response.status_code >= 400 or "error" in payload:
            self._remember_reset(payload)
            raise Bitrix24Error(
                method,
                response.status_code,
                _error_code(payload.get("error")),
                str(payload.get("error_description") or ""),
                reset_at=_operating_reset_at(payload),
            )
        self._remember_reset(payload)
        return payload


class _Redirect(Exception):
    def __init__(self, new_base: str) -> None:
        self.new_base = new_base


def _new_base(current: str, location: str) -> str:
    """The same /rest/<user>/<code>/ on the host the portal moved to."""
    target = urlsplit(location)
    if target.scheme not in ("http", "https") or not target.netloc:
        raise Bitrix24Error("redirect", 302, "BAD_REDIRECT", "the portal redirected without a usable Location")
    old = urlsplit(current)
    return urlunsplit((target.scheme, target.netloc, old.path, "", ""))


def _operating_reset_at(payload: dict[str, Any]) -> float | None:
    timing = payload.get("time")
    value = timing.get("operating_reset_at") if isinstance(timing, dict) else None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def is_read_method(method: str) -> bool:
    """Reads may be repeated after a failure whose outcome is unknown; writes may not."""
    action = method.lower().rsplit(".", 1)[-1]
    return action in {"get", "list", "fields"} or method.lower() == "batch"


def _section(raw: Any) -> dict[str, Any]:
    """A batch section by command key. The portal writes each section as a PHP array, so one whose keys are
    exactly 0..n-1 arrives as a JSON list (REST module, `CRestProvider::methodsBatch`): index i is key "i"."""
    if isinstance(raw, dict):
        return {str(key): value for key, value in raw.items()}
    if isinstance(raw, list):
        return {str(index): value for index, value in enumerate(raw)}
    return {}


def _counts(raw: Any) -> dict[str, int]:
    """`result_total` / `result_next`: by command key (a list when the keys are 0..n-1; `[]` when empty)."""
    counts: dict[str, int] = {}
    for key, value in _section(raw).items():
        try:
            counts[str(key)] = int(value)
        except (TypeError, ValueError):
            continue
    return counts


def _batch_errors(raw: Any, unanswered: list[str]) -> dict[str, BatchCommandError]:
    """`result_error` by command key. A list is the PHP array of keys 0..n-1 (only the first commands failed);
    when those indexes are not command keys (a list seen in real answers of batches with named commands), it
    belongs, in order, to the commands that have no result."""
    if isinstance(raw, list) and not all(str(index) in unanswered for index in range(len(raw))):
        items = list(zip(unanswered, raw, strict=False))
    else:
        items = list(_section(raw).items())
    errors: dict[str, BatchCommandError] = {}
    for key, value in items:
        if isinstance(value, dict):
            errors[str(key)] = BatchCommandError(
                _error_code(value.get("error")), str(value.get("error_description") or "")
            )
    return errors


def _throttled_answers(response: requests.Response) -> int:
    """The 429/503 answers behind one response: the 503s the session retried by itself (urllib3 keeps them in
    the retry history) and the final answer."""
    retries = getattr(response.raw, "retries", None)
    history = getattr(retries, "history", None) or ()
    earlier = sum(1 for attempt in history if getattr(attempt, "status", None) in THROTTLE_STATUSES)
    return earlier + (1 if response.status_code in THROTTLE_STATUSES else 0)


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
