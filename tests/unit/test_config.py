"""The settings read the environment as template.yaml sets it: names in upper case (any case is accepted), every
value as text; lists are comma-separated text; a missing or malformed value names its field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from invoice_bridge.config import ProcessorSettings, ReceiverSettings, StatusSyncSettings

REQUIRED = {"BRIDGE_SECRET_ID": "bridge", "QUEUE_URL": "http://127.0.0.1/q", "LEDGER_TABLE_NAME": "ledger"}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_values_arrive_as_text_and_are_validated(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("TRIGGER_STAGE_IDS", " C1:UC_INVOICE , WON,,")
    environment.setenv("ONEC_POST_DOCUMENTS", "true")
    environment.setenv("RETRY_BACKOFF_SECONDS", "45")
    environment.setenv("HTTP_TIMEOUT_SECONDS", "2.5")
    environment.setenv("MESSAGE_LANGUAGE", "en")
    environment.setenv("UNRELATED_VARIABLE", "ignored")
    settings = ProcessorSettings.from_environment()
    assert settings.trigger_stage_ids == ("C1:UC_INVOICE", "WON")
    assert settings.preflight_stage_ids == ()
    assert settings.onec_post_documents is True
    assert settings.retry_backoff_seconds == 45
    assert settings.http_timeout_seconds == 2.5
    assert settings.message_language == "en"
    assert settings.queue_url == "http://127.0.0.1/q"
    assert settings.lease_seconds == ProcessorSettings.model_fields["lease_seconds"].default


def test_names_are_matched_in_any_case(environment: pytest.MonkeyPatch) -> None:
    environment.delenv("QUEUE_URL")
    environment.setenv("queue_url", "http://127.0.0.1/lower")
    assert ReceiverSettings.from_environment().queue_url == "http://127.0.0.1/lower"


def test_a_comma_separated_list_is_text_not_json(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("PAID_STAGE_ID", "C1:WON,WON")
    assert StatusSyncSettings.from_environment().paid_stage_id == ("C1:WON", "WON")


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("BRIDGE_SECRET_ID", None, "bridge_secret_id"),
        ("RETRY_BACKOFF_SECONDS", "soon", "retry_backoff_seconds"),
        ("DOCUMENT_TIMEZONE", "Mars/Olympus", "document_timezone"),
        ("ONEC_POST_DOCUMENTS", "perhaps", "onec_post_documents"),
    ],
)
def test_a_missing_or_bad_value_names_its_field(
    environment: pytest.MonkeyPatch, name: str, value: str | None, field: str
) -> None:
    if value is None:
        environment.delenv(name)
    else:
        environment.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        ProcessorSettings.from_environment()
    assert [error["loc"] for error in caught.value.errors()] == [(field,)]


def test_settings_are_frozen(environment: pytest.MonkeyPatch) -> None:
    settings = ReceiverSettings.from_environment()
    with pytest.raises(ValidationError):
        settings.queue_url = "elsewhere"
