"""The whole bridge on 127.0.0.1: moto (queue, table and secret from template.yaml), both sandboxes, the
receiver behind a local HTTP API and the processor behind a local SQS event source."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import requests
from aws_lambda_powertools.utilities import parameters

from invoice_bridge import aws
from invoice_bridge.config import processor_settings, receiver_settings, reconciler_settings, status_sync_settings
from invoice_bridge.observability import logger, metrics
from invoice_bridge.pipeline.wiring import portal_pipelines
from invoice_bridge.portals import forget_pins
from invoice_bridge.setup_state import forget_logged_causes
from local.aws.child_process import ChildProcess
from local.aws.lambda_runtime import ROOT, HttpApiGateway, LambdaContext, SqsEventSource, load_handler
from local.aws.moto_server import MODULE as MOTO_SERVER
from local.aws.moto_server import MotoServer
from local.aws.template_resources import LocalResources, create_resources, function_environment, load_template
from local.bitrix24.sandbox import Bitrix24Sandbox
from local.onec.sandbox import OnecSandbox
from local.seed import (
    APPLICATION_TOKEN,
    ONEC_PASSWORD,
    ONEC_USERNAME,
    PORTAL_B_APPLICATION_TOKEN,
    PORTAL_B_COMPANIES,
    PORTAL_B_DEALS,
    PORTAL_B_DOMAIN,
    PORTAL_B_MEMBER_ID,
    PORTAL_B_PRODUCTS,
    PORTAL_B_REQUISITES,
    PORTAL_B_WEBHOOK_CODE,
    PORTAL_DOMAIN,
    PORTAL_MEMBER_ID,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

STACK_NAME = "invoice-bridge-local"
REGION = "eu-central-1"
RECEIVER_ID = "WebhookReceiverFunction"
PROCESSOR_ID = "InvoiceProcessorFunction"
RECONCILER_ID = "ReconcilerFunction"
STATUS_SYNC_ID = "StatusSyncFunction"
WEBHOOK_PATH = "/bitrix24/events"


def forget_warm_state() -> None:
    """What a new Lambda execution environment would not have: cached settings, clients, secret, pipelines, pin."""
    receiver_settings.cache_clear()
    processor_settings.cache_clear()
    portal_pipelines.cache_clear()
    forget_pins()
    forget_logged_causes()
    aws.sqs_client.cache_clear()
    aws.dynamodb_client.cache_clear()
    reconciler_settings.cache_clear()
    status_sync_settings.cache_clear()
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    metrics.clear_metrics()  # with metrics disabled, Powertools keeps them instead of printing


def portal_b_sandbox() -> Bitrix24Sandbox:
    """The second sample portal: its own webhook code, companies, products and deals (ids overlapping A's)."""
    return Bitrix24Sandbox(
        deals=PORTAL_B_DEALS,
        companies=PORTAL_B_COMPANIES,
        requisites=PORTAL_B_REQUISITES,
        products=PORTAL_B_PRODUCTS,
        smart_invoices=(),
        webhook_code=PORTAL_B_WEBHOOK_CODE,
    )


@dataclass
class LocalStack:
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    log_level: str = "WARNING"
    extra_environment: dict[str, str] = field(default_factory=dict)
    bitrix: Bitrix24Sandbox = field(default_factory=Bitrix24Sandbox)  # portal A
    bitrix_b: Bitrix24Sandbox = field(default_factory=lambda: portal_b_sandbox())
    onec: OnecSandbox = field(default_factory=OnecSandbox)
    moto_process: bool = False  # moto in a process of its own (make bench), not a thread of this one
    _moto: MotoServer | ChildProcess | None = None
    _moto_sqs: ChildProcess | None = None  # with moto_process: SQS in a second process, on a core of its own
    _gateway: HttpApiGateway | None = None
    _event_source: SqsEventSource | None = None
    _saved_environment: dict[str, str] = field(default_factory=dict)
    resources: LocalResources | None = None

    def start(self, *, poll: bool = True) -> LocalStack:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request lines
        self.bitrix.start()
        self.bitrix_b.start()
        self.onec.start()
        self._moto = ChildProcess(MOTO_SERVER) if self.moto_process else MotoServer()
        self._moto.start()
        # moto keeps its state per process, not per server: start from nothing.
        requests.post(f"{self._moto.endpoint}/moto-api/reset", timeout=10).raise_for_status()
        if self.moto_process:
            self._moto_sqs = ChildProcess(MOTO_SERVER)
            self._moto_sqs.start()
            self._set_environment({"AWS_ENDPOINT_URL_SQS": self._moto_sqs.endpoint})
        self._set_environment(
            {
                "AWS_ENDPOINT_URL": self._moto.endpoint,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": REGION,
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_DISABLED": "true",
            }
        )
        template = load_template(ROOT / "template.yaml")
        self.resources = create_resources(
            sqs=self.sqs,
            dynamodb=self.dynamodb,
            secretsmanager=boto3.client("secretsmanager"),
            template=template,
            stack_name=STACK_NAME,
            secret_value=self.portals_secret(),
        )
        environment: dict[str, str] = {}
        for function_id in (RECEIVER_ID, PROCESSOR_ID, RECONCILER_ID, STATUS_SYNC_ID):
            environment.update(function_environment(template, function_id, self.resources, self.parameter_overrides))
        environment["POWERTOOLS_LOG_LEVEL"] = self.log_level
        # locally a retry comes after 1, 2, 4, 4… s, not 30, 60, 120… 3600 s; an open breaker probes every 2 s
        environment["RETRY_BACKOFF_SECONDS"] = "1"
        environment["RETRY_BACKOFF_MAX_SECONDS"] = "4"
        environment["BREAKER_OPEN_SECONDS"] = "2"
        environment.update(self.extra_environment)
        self._set_environment(environment)
        forget_warm_state()
        # Logger and Metrics were made when this process imported the package, before these variables existed.
        logger.setLevel(self.log_level)
        metrics.namespace = environment["POWERTOOLS_METRICS_NAMESPACE"]

        self._gateway = HttpApiGateway(load_handler("webhook_receiver"))
        self._gateway.start()
        processor = template["Resources"][PROCESSOR_ID]["Properties"]
        sqs_trigger = next(e["Properties"] for e in processor["Events"].values() if e["Type"] == "SQS")
        self._event_source = SqsEventSource(
            self.sqs,
            self.resources.queue_url,
            load_handler("invoice_processor"),
            batch_size=int(sqs_trigger["BatchSize"]),
            # a short window locally: the replay's messages are all there already
            batching_window_seconds=min(0.5, float(sqs_trigger.get("MaximumBatchingWindowInSeconds", 0))),
            function_timeout_seconds=float(processor.get("Timeout", 60)),
            on_crash=forget_warm_state,
        )
        if poll:
            self._event_source.start()
        return self

    def portals_secret(self) -> dict[str, Any]:
        """The secret of the two sample portals, both feeding the one 1C sandbox (DESIGN §4)."""
        return {
            "portals": [
                {
                    "member_id": PORTAL_MEMBER_ID,
                    "domain": PORTAL_DOMAIN,
                    "webhook_url": self.bitrix.webhook_url,
                    "application_tokens": [APPLICATION_TOKEN],
                },
                {
                    "member_id": PORTAL_B_MEMBER_ID,
                    "domain": PORTAL_B_DOMAIN,
                    "webhook_url": self.bitrix_b.webhook_url,
                    "application_tokens": [PORTAL_B_APPLICATION_TOKEN],
                },
            ],
            **self.onec_secret(),
        }

    def single_portal_secret(self) -> dict[str, Any]:
        """The first release's form: portal A's webhook and token, no member_id or domain (pinned by an event)."""
        return {
            "bitrix24_webhook_url": self.bitrix.webhook_url,
            "bitrix24_application_tokens": [APPLICATION_TOKEN],
            **self.onec_secret(),
        }

    def onec_secret(self) -> dict[str, Any]:
        return {"onec_odata_url": self.onec.url, "onec_username": ONEC_USERNAME, "onec_password": ONEC_PASSWORD}

    def use_secret(self, value: dict[str, Any]) -> None:
        """Puts a new version of the secret, as an administrator would; functions start cold afterwards."""
        assert self.resources is not None  # noqa: S101
        boto3.client("secretsmanager").put_secret_value(
            SecretId=self.resources.secret_id, SecretString=json.dumps(value, ensure_ascii=False)
        )
        forget_warm_state()

    def write_state(self, path: Path) -> None:
        """What `invoice-bridge --local` needs to reach this stack from another process."""
        assert self.resources is not None  # noqa: S101
        assert self._moto is not None  # noqa: S101
        state = {
            "queue_url": self.resources.queue_url,
            "dead_letter_queue_url": self.resources.dead_letter_queue_url,
            "table_name": self.resources.table_name,
            "secret_id": self.resources.secret_id,
            "trigger_stage_ids": list(processor_settings().trigger_stage_ids),
            "document_kind": processor_settings().document_kind,
            "endpoint_url": self._moto.endpoint,
            "region": REGION,
        }
        path.write_text(json.dumps(state, indent=2), encoding="utf-8")

    def run_reconciler(self, timeout_seconds: float | None = None) -> dict[str, Any]:
        """One scheduled run of the reconciler, as EventBridge would start it, with the template's timeout."""
        handler = load_handler("reconciler")
        timeout = timeout_seconds or float(
            load_template(ROOT / "template.yaml")["Resources"][RECONCILER_ID]["Properties"]["Timeout"]
        )
        result: dict[str, Any] = handler(
            {"source": "aws.events", "detail-type": "Scheduled Event"},
            LambdaContext("ReconcilerFunction", timeout_seconds=timeout),
        )
        return result

    def run_status_sync(self, timeout_seconds: float | None = None) -> dict[str, Any]:
        """One scheduled run of the status sync, as EventBridge would start it, with the template's timeout."""
        handler = load_handler("status_sync")
        timeout = timeout_seconds or float(
            load_template(ROOT / "template.yaml")["Resources"][STATUS_SYNC_ID]["Properties"]["Timeout"]
        )
        result: dict[str, Any] = handler(
            {"source": "aws.events", "detail-type": "Scheduled Event"},
            LambdaContext("StatusSyncFunction", timeout_seconds=timeout),
        )
        return result

    def stop(self) -> None:
        for part in (self._event_source, self._gateway, self._moto, self._moto_sqs):
            if part is not None:
                part.stop()
        self.bitrix.stop()
        self.bitrix_b.stop()
        self.onec.stop()
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        forget_warm_state()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def webhook_url(self) -> str:
        assert self._gateway is not None, "start() first"  # noqa: S101
        return self._gateway.url + WEBHOOK_PATH

    def moto_cpu_seconds(self) -> float:
        """moto's CPU when it runs in its own process (make bench), else 0."""
        return sum(self.moto_cpu_by_service().values())

    def moto_cpu_by_service(self) -> dict[str, float]:
        """moto's CPU per process when it runs in its own (make bench): SQS, and the rest."""
        parts = {"sqs": self._moto_sqs, "dynamodb+secrets": self._moto}
        return {name: part.cpu_seconds() for name, part in parts.items() if isinstance(part, ChildProcess)}

    @property
    def gateway(self) -> HttpApiGateway:
        assert self._gateway is not None, "start() first"  # noqa: S101
        return self._gateway

    @property
    def event_source(self) -> SqsEventSource:
        assert self._event_source is not None, "start() first"  # noqa: S101
        return self._event_source

    @property
    def sqs(self) -> SQSClient:
        return boto3.client("sqs")

    @property
    def dynamodb(self) -> DynamoDBClient:
        return boto3.client("dynamodb")

    def queued_messages(self) -> int:
        assert self.resources is not None  # noqa: S101
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.resources.queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",  # write-backs waiting their retry delay
            ],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())

    def _set_environment(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            self._saved_environment.setdefault(name, os.environ.get(name))  # type: ignore[arg-type]
            os.environ[name] = str(value)
