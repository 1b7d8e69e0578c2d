"""The bridge's credentials: one JSON secret in Secrets Manager (DESIGN §4), cached by Powertools.

Two forms are valid. The current one lists `portals`, each a tenant with its own Bitrix24 webhook, its own
outgoing-webhook tokens and optionally its own 1C base (`onec`, else the top-level 1C keys). The first release's
form (`bitrix24_webhook_url`, `bitrix24_application_tokens`) is one portal whose member_id and domain are pinned
by the first accepted event (see `invoice_bridge.portals`).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from invoice_bridge.aws import secretsmanager_client
from invoice_bridge.observability import protect_logs, register_secrets

WEBHOOK_URL_PATTERN = r"^https?://[^\s/]+/rest/\d+/[^\s/]+/$"
ODATA_URL_PATTERN = r"^https?://\S+/$"
# Bitrix24's member_id is 32 hex digits; '#' and '|' would break the ledger's keys, so only these are allowed.
MEMBER_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
DOMAIN_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,253}[A-Za-z0-9])?$"


class SecretConfigurationError(RuntimeError):
    """The secret is missing keys or holds malformed values; the message never contains a value."""


def _no_empty_tokens(tokens: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
    if any(not token.get_secret_value() for token in tokens):
        raise ValueError("empty token in the list")
    return tokens


class OnecConnection(BaseModel):
    """A 1C base reached over OData."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    odata_url: str = Field(pattern=ODATA_URL_PATTERN)
    username: str = Field(min_length=1)
    password: SecretStr
    organization_inn: str = Field(default="", pattern=r"^(\d{10}|\d{12})?$")


class PortalEntry(BaseModel):
    """One Bitrix24 portal: its identity, where its REST API is, the tokens of its outgoing webhooks."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    member_id: str = Field(pattern=MEMBER_ID_PATTERN)
    domain: str = Field(pattern=DOMAIN_PATTERN)
    webhook_url: str = Field(pattern=WEBHOOK_URL_PATTERN)
    application_tokens: tuple[SecretStr, ...] = Field(min_length=1)
    onec: OnecConnection | None = None

    _tokens = field_validator("application_tokens")(_no_empty_tokens)


class BridgeSecret(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    portals: tuple[PortalEntry, ...] = ()
    # the first release's single portal
    bitrix24_webhook_url: str | None = Field(default=None, pattern=WEBHOOK_URL_PATTERN)
    bitrix24_application_tokens: tuple[SecretStr, ...] | None = Field(default=None, min_length=1)
    onec_odata_url: str = Field(pattern=ODATA_URL_PATTERN)
    onec_username: str = Field(min_length=1)
    onec_password: SecretStr

    @field_validator("bitrix24_application_tokens")
    @classmethod
    def _no_empty_legacy_tokens(cls, tokens: tuple[SecretStr, ...] | None) -> tuple[SecretStr, ...] | None:
        return None if tokens is None else _no_empty_tokens(tokens)

    @model_validator(mode="after")
    def _one_form_and_distinct_portals(self) -> BridgeSecret:
        legacy = [name for name in ("bitrix24_webhook_url", "bitrix24_application_tokens") if getattr(self, name)]
        if self.portals and legacy:
            raise ValueError(f"give either portals or the single-portal keys, not both (remove {', '.join(legacy)})")
        if not self.portals:
            if not legacy:
                raise ValueError("no portal: add portals (a list with one object per Bitrix24 portal)")
            if len(legacy) == 1:
                missing = {"bitrix24_webhook_url", "bitrix24_application_tokens"} - set(legacy)
                raise ValueError(f"{missing.pop()} is missing beside {legacy[0]}")
        seen: dict[str, dict[Any, int]] = {"member_id": {}, "domain": {}, "token": {}}
        for index, portal in enumerate(self.portals):
            values: list[tuple[str, Any]] = [("member_id", portal.member_id), ("domain", portal.domain.lower())]
            values += [("token", token.get_secret_value()) for token in portal.application_tokens]
            for kind, value in values:
                first = seen[kind].setdefault(value, index)
                if first != index:
                    key = "application_tokens" if kind == "token" else kind
                    raise ValueError(
                        f"portals[{index}] (member_id {portal.member_id}).{key} repeats the {kind} of "
                        f"portals[{first}]: each portal needs its own"
                    )
        return self

    @property
    def single_portal(self) -> bool:
        """The first release's form: one portal, pinned by the first accepted event."""
        return not self.portals

    @property
    def shared_onec(self) -> OnecConnection:
        """The top-level 1C, for every portal without an `onec` of its own."""
        return OnecConnection(odata_url=self.onec_odata_url, username=self.onec_username, password=self.onec_password)


_HINTS = {
    "portals": "a JSON list with one object per portal: member_id, domain, webhook_url, application_tokens",
    "member_id": "the portal's member_id, as its events send it in auth[member_id] (README, 'Several portals')",
    "domain": "the portal's domain, as its events send it in auth[domain], like acme.bitrix24.ru",
    "webhook_url": "the incoming webhook URL, like https://portal.bitrix24.ru/rest/1/abc123/ (with '/')",
    "application_tokens": "a JSON list with the token of each outgoing webhook of this portal",
    "onec": "an object with odata_url, username, password and optionally organization_inn",
    "odata_url": "the OData root, like https://1c.example.ru/bp30/odata/standard.odata/ (with '/')",
    "username": "the 1C user for OData",
    "password": "that user's password",
    "organization_inn": "the INN (10 or 12 digits) of the organisation that issues this portal's documents",
    "bitrix24_webhook_url": "the incoming webhook URL, like https://portal.bitrix24.ru/rest/1/abc123/ (with '/')",
    "bitrix24_application_tokens": "a JSON list with the token of each outgoing webhook",
    "onec_odata_url": "the OData root, like https://1c.example.ru/bp30/odata/standard.odata/ (with '/')",
    "onec_username": "the 1C user for OData",
    "onec_password": "that user's password",
}


PLACEHOLDER = "CHANGE_ME"


def parse_secret(raw: Any, secret_id: str) -> BridgeSecret:
    if PLACEHOLDER in json.dumps(raw, default=str):
        raise SecretConfigurationError(
            f"secret {secret_id} still holds the placeholder values from the deploy; put the real Bitrix24 and 1C "
            "credentials in it (README, 'Deploying')"
        )
    try:
        return BridgeSecret.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        problems = [_problem(error["loc"], error["msg"], raw) for error in errors]
        raise SecretConfigurationError(f"secret {secret_id} is not usable: " + "; ".join(problems)) from None


def _problem(location: tuple[int | str, ...], message: str, raw: Any) -> str:
    """`portals[1] (member_id abc).webhook_url: … — expected …`: where, what, what is wanted, never the value."""
    if not location:
        return f"(whole secret): {message}"
    parts = [str(location[0])]
    for part in location[1:]:
        if isinstance(part, int):
            parts[-1] += f"[{part}]"
            if location[0] == "portals" and len(parts) == 1:
                parts[-1] += _member_id_of(raw, part)
        else:
            parts.append(str(part))
    name = ".".join(parts)
    last = next((str(part) for part in reversed(location) if isinstance(part, str)), "")
    if last == "portals" and isinstance(location[-1], int):
        return f"{name}: {message} — expected an object with {_HINTS['portals'].split(': ', 1)[1]}"
    return f"{name}: {message} — expected {_HINTS.get(last, 'a JSON object')}"


def _member_id_of(raw: Any, index: int) -> str:
    """` (member_id …)` when that entry has a well-formed member_id: it names the entry, it is no credential."""
    try:
        member_id = raw["portals"][index]["member_id"]
    except (KeyError, IndexError, TypeError):
        return ""
    if isinstance(member_id, str) and re.fullmatch(MEMBER_ID_PATTERN, member_id):
        return f" (member_id {member_id})"
    return ""


def load_secret(secret_id: str, max_age_seconds: int) -> BridgeSecret:
    """Reads the secret through Powertools' cache, so a warm function does not call Secrets Manager again.
    Its credentials are masked in every log line from then on (observability.py)."""
    protect_logs()
    _provider_on_the_shared_session()
    try:
        raw = parameters.get_secret(secret_id, transform="json", max_age=max_age_seconds)
    except parameters.exceptions.TransformParameterError:
        raise SecretConfigurationError(f"secret {secret_id} is not a JSON object; see README, 'Secret'") from None
    register_secrets(credentials_in(raw))
    return parse_secret(raw, secret_id)


def _provider_on_the_shared_session() -> None:
    """`get_secret` uses the provider registered under "secrets", and makes one with a boto3 session of its own
    only when none is (Powertools 3, utilities/parameters/secrets.py `get_secret`; `clear_caches` empties the
    registry). Registering one made on the functions' shared session (aws.py) spares that second session."""
    if "secrets" not in DEFAULT_PROVIDERS:
        DEFAULT_PROVIDERS.setdefault("secrets", parameters.SecretsProvider(boto3_client=secretsmanager_client()))


def credentials_in(raw: Any) -> set[str]:
    """Every value of the secret that must never be logged, whatever the secret's form (one portal or many):
    tokens, passwords, webhook URLs and their codes, and the Basic auth header a 1C user and password make."""
    found: set[str] = set()

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            found.update(_basic_auth(value))
            for name, inner in value.items():
                walk(inner, str(name))
        elif isinstance(value, list):
            for inner in value:
                walk(inner, key)
        elif isinstance(value, str) and ("token" in key or "password" in key):
            found.add(value)
        elif isinstance(value, str) and "webhook_url" in key:
            url = value.rstrip("/")
            found.update({url, url.rsplit("/", 1)[-1]})  # …/rest/<user>/<code>/: the code is the credential

    walk(raw, "")
    return found


def _basic_auth(entry: dict[str, Any]) -> set[str]:
    pairs = (("onec_username", "onec_password"), ("username", "password"))
    return {
        base64.b64encode(f"{entry[user]}:{entry[password]}".encode()).decode()
        for user, password in pairs
        if isinstance(entry.get(user), str) and isinstance(entry.get(password), str)
    }
