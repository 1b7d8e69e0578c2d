"""A small, general client for 1C's OData v3: queries, creation, and 1C's errors as exceptions."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import requests

from invoice_bridge.onec.literals import guid_literal

# 412: the object changed since it was read (If-Match); the next attempt reads it again.
TRANSIENT_STATUSES = frozenset({408, 412, 429, 500, 502, 503, 504})


class ODataError(RuntimeError):
    """1C refused or failed; `message` keeps 1C's own text."""

    def __init__(self, *, status: int, code: str, message: str, entity_set: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.entity_set = entity_set
        super().__init__(f"1C OData {entity_set}: HTTP {status}, code {code or '-'}: {message}")

    @property
    def transient(self) -> bool:
        return self.status == 0 or self.status in TRANSIENT_STATUSES

    @property
    def setup(self) -> bool:
        """Refused login or rights, or an unpublished set: the administrator's to fix, never the manager's."""
        return self.status in (401, 403) or self.code == "8" or (self.status == 404 and self.code != "9")

    def explain(self) -> str:
        """What a person can do about it."""
        if self.status == 401:
            return "1C rejected the login: check onec_username and onec_password in the secret"
        if self.status == 403 or self.code == "20":
            return "the 1C user lacks rights: give it the role «Удаленный доступ (OData)» and rights to this object"
        if self.code == "8" or (self.status == 404 and self.code != "9"):
            return f"{self.entity_set} is not published: add it to the OData composition in 1C"
        return self.message


class ODataClient:
    def __init__(
        self,
        service_root: str,
        *,
        username: str,
        password: str,
        timeout: float,
        session: requests.Session | None = None,
    ) -> None:
        self._root = service_root if service_root.endswith("/") else service_root + "/"
        self._timeout = timeout
        self._session = session or requests.Session()
        # requests would encode str credentials as latin-1; 1C logins are often Cyrillic.
        credentials = base64.b64encode(f"{username}:{password}".encode())
        self._authorization = "Basic " + credentials.decode("ascii")
        self.request_count = 0

    @property
    def service_root(self) -> str:
        """The OData root URL as configured (it may hold credentials: never log it)."""
        return self._root

    def query(
        self,
        entity_set: str,
        *,
        filter: str | None = None,
        select: tuple[str, ...] = (),
        top: int | None = None,
    ) -> list[dict[str, Any]]:
        payload = self._json("GET", entity_set, _query_options(filter, select, top))
        rows = payload.get("value")
        if not isinstance(rows, list):
            raise ODataError(status=200, code="", message="answer has no 'value' list", entity_set=entity_set)
        return [row for row in rows if isinstance(row, dict)]

    def query_url_length(
        self, entity_set: str, *, filter: str | None = None, select: tuple[str, ...] = (), top: int | None = None
    ) -> int:
        """How long the URL of this query would be, to keep `or` filters within what the web server accepts."""
        return len(self._url(entity_set, _query_options(filter, select, top)))

    def create(self, entity_set: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._json("POST", entity_set, {"$format": "json"}, body=body)

    def get(self, entity_set: str, ref_key: str, *, select: tuple[str, ...] = ()) -> dict[str, Any]:
        options = {"$format": "json", **({"$select": ",".join(select)} if select else {})}
        return self._json("GET", _entity(entity_set, ref_key), options)

    def update(
        self, entity_set: str, ref_key: str, body: Mapping[str, Any], *, data_version: str | None
    ) -> dict[str, Any]:
        """PATCH: only the given properties change (a tabular section given is replaced whole). With
        `data_version` 1C refuses with 412 when someone changed the object since it was read."""
        headers = {"If-Match": data_version} if data_version else {}
        return self._json("PATCH", _entity(entity_set, ref_key), {"$format": "json"}, body=body, headers=headers)

    def post_document(self, entity_set: str, ref_key: str) -> None:
        """Posts a document; BP 3.0 documents refuse operational posting, so it is always off."""
        self._send("POST", _entity(entity_set, ref_key) + "/Post", {"PostingModeOperational": "false"}, entity_set)

    def metadata(self) -> str:
        return self._send("GET", "$metadata", {}, "$metadata").text

    def _json(
        self,
        method: str,
        resource: str,
        options: dict[str, str],
        body: Mapping[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        entity_set = resource.split("(", 1)[0]
        response = self._send(method, resource, options, entity_set, body=body, headers=headers)
        payload = _json_or_none(response)
        if not isinstance(payload, dict):
            raise ODataError(
                status=response.status_code, code="", message="answer is not a JSON object", entity_set=entity_set
            )
        return payload

    def _send(
        self,
        method: str,
        resource: str,
        options: dict[str, str],
        entity_set: str,
        *,
        body: Mapping[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        url = self._url(resource, options)
        data = None if body is None else json.dumps(body, ensure_ascii=False, default=_json_default).encode()
        all_headers = {"Accept": "application/json", "Authorization": self._authorization, **(headers or {})}
        if data is not None:
            all_headers["Content-Type"] = "application/json; charset=utf-8"
        self.request_count += 1
        try:
            response = self._session.request(method, url, data=data, headers=all_headers, timeout=self._timeout)
        except requests.RequestException as exc:
            raise ODataError(
                status=0, code="", message=f"no answer: {type(exc).__name__}", entity_set=entity_set
            ) from exc
        if response.status_code >= 400:
            code, message = _odata_error(_json_or_none(response), response)
            raise ODataError(status=response.status_code, code=code, message=message, entity_set=entity_set)
        return response

    def _url(self, resource: str, options: dict[str, str]) -> str:
        query = "?" + urlencode(options, quote_via=quote) if options else ""
        return self._root + quote(resource, safe="()'/$") + query


def _query_options(filter: str | None, select: tuple[str, ...], top: int | None) -> dict[str, str]:
    options: dict[str, str] = {"$format": "json"}
    if filter:
        options["$filter"] = filter
    if select:
        options["$select"] = ",".join(select)
    if top is not None:
        options["$top"] = str(top)
    return options


def _entity(entity_set: str, ref_key: str) -> str:
    return f"{entity_set}({guid_literal(ref_key)})"


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        # JSON numbers go out as floats; shortest-repr floats keep up to 15 significant digits exactly.
        number = float(value)
        if Decimal(repr(number)) != value:
            raise ValueError(f"{value} cannot be sent to 1C exactly")
        return number
    raise TypeError(f"cannot send {type(value).__name__} to 1C")


def _json_or_none(response: requests.Response) -> Any:
    try:
        return json.loads(response.text, parse_float=Decimal)
    except ValueError:
        return None


def _odata_error(payload: Any, response: requests.Response) -> tuple[str, str]:
    error = payload.get("odata.error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        message = error.get("message")
        text = message.get("value") if isinstance(message, dict) else message
        return str(error.get("code", "")), str(text or "")
    return "", (response.text or response.reason or "")[:300]
