"""The bridge's credentials: one JSON secret in Secrets Manager (DESIGN §4), cached by Powertools."""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.utilities import parameters
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from invoice_bridge.observability import protect_logs, register_secrets


class SecretConfigurationError(RuntimeError):
    """The secret is missing keys or holds malformed values; the message never contains a value."""


class BridgeSecret(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    bitrix24_webhook_url: str = Field(pattern=r"^https?://[^\s/]+/rest/\d+/[^\s/]+/$")
    bitrix24_application_tokens: tuple[SecretStr, ...] = Field(min_length=1)
    onec_odata_url: str = Field(pattern=r"^https?://\S+/$")
    onec_username: str = Field(min_length=1)
    onec_password: SecretStr

    @field_validator("bitrix24_application_tokens")
    @classmethod
    def _no_empty_tokens(cls, tokens: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        if any(not token.get_secret_value() for token in tokens):
            raise ValueError("empty token in the list")
        return tokens


_HINTS = {
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
        problems = []
        for error in exc.errors(include_input=False, include_url=False):
            name = str(error["loc"][0]) if error["loc"] else "(whole secret)"
            problems.append(f"{name}: {error['msg']} — expected {_HINTS.get(name, 'a JSON object')}")
        raise SecretConfigurationError(f"secret {secret_id} is not usable: " + "; ".join(problems)) from None


def load_secret(secret_id: str, max_age_seconds: int) -> BridgeSecret:
    """Reads the secret through Powertools' cache, so a warm function does not call Secrets Manager again.
    Its credentials are masked in every log line from then on (observability.py)."""
    protect_logs()
    try:
        raw = parameters.get_secret(secret_id, transform="json", max_age=max_age_seconds)
    except parameters.exceptions.TransformParameterError:
        raise SecretConfigurationError(f"secret {secret_id} is not a JSON object; see README, 'Secret'") from None
    register_secrets(credentials_in(raw))
    return parse_secret(raw, secret_id)


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
