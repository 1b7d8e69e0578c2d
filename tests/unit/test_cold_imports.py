"""What each function's cold start imports and builds: the receiver and the processor never load the X-Ray SDK,
and the receiver no HTTP router (together ~60 % of the receiver's cold import); no function loads pydantic-settings,
nor builds another function's settings; the processor loads the doctor only for a probe; the secret is read on
the functions' one boto3 session. A fresh interpreter per function, as Lambda's init; what it loads, never how long
it takes (`make coldstart` and `python -X importtime` give the times)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import botocore.session
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from invoice_bridge import aws
from invoice_bridge.secret import load_secret
from local.runners.cold_imports import ReceiverFirstRequest

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ["webhook_receiver", "invoice_processor", "reconciler", "status_sync"]
CHECK = "import json, sys, app; print(json.dumps(sorted(sys.modules)))"
# the receiver's settings, as its first request reads them; then which pydantic models are built
BUILT = """
import json, app
from invoice_bridge import config
from invoice_bridge.ledger import records
config.receiver_settings()
models = (config.ReceiverSettings, config.ProcessorSettings, config.ReconcilerSettings, config.StatusSyncSettings,
          records.LedgerRecord)
print(json.dumps({model.__name__: model.__pydantic_complete__ for model in models}))
"""


def run_in_function(function: str, script: str, **environment: str) -> object:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "shared"), str(ROOT / "functions" / function)]),
        "POWERTOOLS_SERVICE_NAME": "test",
        **environment,
    }
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def modules_after_import(function: str) -> set[str]:
    loaded = run_in_function(function, CHECK)
    assert isinstance(loaded, list)
    return set(loaded)


@pytest.mark.parametrize("function", ["webhook_receiver", "invoice_processor"])
def test_no_xray_sdk_in_the_cold_start(function: str) -> None:
    assert not {name for name in modules_after_import(function) if name.startswith("aws_xray_sdk")}


def test_the_receiver_loads_no_router_and_no_1c_or_bitrix24_client() -> None:
    loaded = modules_after_import("webhook_receiver")
    assert "aws_lambda_powertools.event_handler" not in loaded
    assert not {name for name in loaded if name.startswith(("invoice_bridge.onec", "invoice_bridge.bitrix24"))}
    assert "requests" not in loaded


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_function_loads_pydantic_settings(function: str) -> None:
    """Its CLI, dotenv and cloud sources cost 70-100 ms of each cold start; config.py reads the environment."""
    assert not {name for name in modules_after_import(function) if name.startswith("pydantic_settings")}


def test_the_processor_loads_the_doctor_only_for_a_probe() -> None:
    loaded = modules_after_import("invoice_processor")
    assert "invoice_bridge.doctor" not in loaded
    assert not {name for name in loaded if name.startswith("invoice_bridge.status_sync")}


def test_the_receiver_builds_its_own_settings_and_no_ledger_record() -> None:
    built = run_in_function(
        "webhook_receiver", BUILT, BRIDGE_SECRET_ID="bridge", QUEUE_URL="http://127.0.0.1/q", LEDGER_TABLE_NAME="t"
    )
    assert built == {
        "ReceiverSettings": True,
        "ProcessorSettings": False,
        "ReconcilerSettings": False,
        "StatusSyncSettings": False,
        "LedgerRecord": False,
    }


def test_the_processor_builds_no_webhook_model() -> None:
    """Only the receiver reads a webhook; the processor imports events.py for QueueMessage."""
    script = (
        "import json, app; from invoice_bridge import events; print(json.dumps([model.__pydantic_complete__ for "
        "model in (events.BitrixWebhook, events.WebhookData, events.WebhookFields, events.WebhookAuth)]))"
    )
    assert run_in_function("invoice_processor", script) == [False, False, False, False]


def test_the_secret_is_read_on_the_one_session_of_the_queue_and_table_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """A boto3 session of Powertools' own would load botocore's handlers, endpoints and service index again."""
    secret = {
        "bitrix24_webhook_url": "https://portal.bitrix24.ru/rest/1/abc123/",
        "bitrix24_application_tokens": ["token-1"],
        "onec_odata_url": "https://1c.example.ru/bp30/odata/standard.odata/",
        "onec_username": "odata",
        "onec_password": "password-1",
    }
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    with mock_aws():
        boto3.client("secretsmanager").create_secret(Name="bridge", SecretString=json.dumps(secret))
        parameters.clear_caches()  # type: ignore[no-untyped-call]
        aws.sqs_client.cache_clear()
        aws.sqs_client()  # the queue's client: boto3's default session exists from here on
        sessions: list[object] = []
        made = botocore.session.Session.__init__

        def counted(self: botocore.session.Session, *args: object, **kwargs: object) -> None:
            sessions.append(self)
            made(self, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(botocore.session.Session, "__init__", counted)
        try:
            assert load_secret("bridge", 0).onec_username == "odata"
        finally:
            parameters.clear_caches()  # type: ignore[no-untyped-call]
            aws.sqs_client.cache_clear()
    assert sessions == []


def test_make_coldstart_s_first_request_is_answered_and_queued(tmp_path: Path) -> None:
    """The cold first request it times is a webhook the receiver accepted (200, queued), not an early refusal."""
    receiver = ReceiverFirstRequest(str(tmp_path / "event.json"))
    try:
        imported, total = receiver.run()  # raises unless the answer is 200 and the event queued
    finally:
        receiver.stop()
    assert imported.wall_ms > 0
    assert total.cpu_ms > 0
