"""The dashboard and the saved Logs Insights queries (issue 12, items 2 and 3)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.infrastructure.template_support import ROOT, resources_of, the_template, translate

PSEUDO = {"AWS::Region", "AWS::StackName", "AWS::AccountId", "AWS::Partition", "AWS::URLSuffix"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return the_template()


@pytest.fixture(scope="module")
def widgets(template: dict[str, Any]) -> list[dict[str, Any]]:
    body = template["Resources"]["BridgeDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert isinstance(body, str)
    for name in re.findall(r"\$\{([^}]+)\}", body):
        target = name.split(".", 1)[0]
        assert name in PSEUDO or target in template["Resources"], f"${{{name}}} names nothing in the template"
    # what CloudWatch receives after the substitution must be JSON
    substituted = re.sub(r"\$\{([^}]+)\}", lambda match: f"resolved-{match.group(1)}", body)
    widgets: list[dict[str, Any]] = json.loads(substituted)["widgets"]
    return widgets


def _metrics_of(widget: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for line in widget["properties"]["metrics"]:
        names = [part for part in line if isinstance(part, str)]
        if len(names) >= 2:
            found.append((names[0], names[1]))
    return found


def _widget(widgets: list[dict[str, Any]], title: str) -> dict[str, Any]:
    return next(widget for widget in widgets if widget["properties"]["title"] == title)


def test_webhooks_by_status(widgets: list[dict[str, Any]]) -> None:
    metrics = _metrics_of(_widget(widgets, "Webhooks by status"))
    assert metrics == [("InvoiceBridge", f"Webhook{status}") for status in (200, 400, 401, 403, 413, 503)]
    receiver = (ROOT / "functions" / "webhook_receiver" / "app.py").read_text(encoding="utf-8")
    assert 'name=f"Webhook{reply.status_code}"' in receiver  # the receiver emits one per status


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        (
            "Invoices created, updated, rejected",
            {"InvoicesCreated", "InvoicesUpdated", "DealsRejected"},
        ),
        (
            "Queue depth",
            {"ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesNotVisible"},
        ),
        ("Age of the oldest queued deal (s)", {"ApproximateAgeOfOldestMessage"}),
        ("Dead-letter queues", {"ApproximateNumberOfMessagesVisible"}),
        ("Errors, throttles, set-up failures", {"Errors", "Throttles", "5xx", "SetupFailures", "Bitrix24Throttled"}),
        ("Durations, p99 (ms)", {"Duration"}),
        ("Requests per invoice", {"Bitrix24Requests", "OnecRequests", "InvoicesCreated"}),
        (
            "Status sync",
            {"StatusSyncTransitionsTold", "StatusSyncOpenDocuments", "StatusSyncFailures", "StatusSync1CRequests"},
        ),
    ],
)
def test_widget_shows(widgets: list[dict[str, Any]], title: str, expected: set[str]) -> None:
    shown = {metric for _, metric in _metrics_of(_widget(widgets, title))}
    assert expected <= shown


def test_both_dead_letter_queues_are_on_the_dashboard(widgets: list[dict[str, Any]]) -> None:
    lines = _widget(widgets, "Dead-letter queues")["properties"]["metrics"]
    queues = {line[3] for line in lines}
    assert queues == {
        "resolved-InvoiceDeadLetterQueue.QueueName",
        "resolved-ReconcilerDeadLetterQueue.QueueName",
        "resolved-StatusSyncDeadLetterQueue.QueueName",
    }


def test_requests_per_invoice_divide_by_the_invoices(widgets: list[dict[str, Any]]) -> None:
    lines = _widget(widgets, "Requests per invoice")["properties"]["metrics"]
    ids = {line[-1]["id"] for line in lines if isinstance(line[-1], dict) and "id" in line[-1] and len(line) > 1}
    expressions = [line[0]["expression"] for line in lines if len(line) == 1]
    assert expressions == ["b24 / (created + updated + found)", "onec / (created + updated + found)"]
    for expression in expressions:
        assert set(re.findall(r"[a-z0-9]+", expression)) <= ids


def test_widgets_do_not_overlap(widgets: list[dict[str, Any]]) -> None:
    taken: set[tuple[int, int]] = set()
    for widget in widgets:
        cells = {
            (x, y)
            for x in range(widget["x"], widget["x"] + widget["width"])
            for y in range(widget["y"], widget["y"] + widget["height"])
        }
        assert not cells & taken, widget["properties"]["title"]
        assert widget["x"] + widget["width"] <= 24
        taken |= cells


# ----------------------------------------------------------------------------------------------------------
# Saved Logs Insights queries

QUERIES = {
    "OneDealQuery": (
        "everything about one deal",
        {"WebhookReceiverLogGroup", "InvoiceProcessorLogGroup", "ReconcilerLogGroup"},
    ),
    "RejectionsByReasonQuery": ("rejections by reason", {"InvoiceProcessorLogGroup"}),
    "ErrorsByCauseQuery": (
        "errors by cause",
        {"WebhookReceiverLogGroup", "InvoiceProcessorLogGroup", "ReconcilerLogGroup"},
    ),
    "SlowestBatchesQuery": ("slowest batches", {"InvoiceProcessorLogGroup"}),
}


def test_the_saved_queries(template: dict[str, Any]) -> None:
    definitions = resources_of(template, "AWS::Logs::QueryDefinition")
    assert set(definitions) == set(QUERIES)
    for logical_id, (name, log_groups) in QUERIES.items():
        properties = definitions[logical_id]["Properties"]
        assert properties["Name"] == {"Fn::Sub": f"${{AWS::StackName}}/{name}"}
        assert {group["Ref"] for group in properties["LogGroupNames"]} == log_groups
        for group in log_groups:
            assert template["Resources"][group]["Type"] == "AWS::Logs::LogGroup"


def _source(*parts: str) -> str:
    return (ROOT.joinpath("shared", "invoice_bridge", *parts)).read_text(encoding="utf-8")


def test_the_queries_read_fields_the_code_writes(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    one_deal = resources["OneDealQuery"]["Properties"]["QueryString"]
    assert 'entity = "deal 1001"' in one_deal
    assert "ledger_key like /#deal#1001$/" in one_deal
    assert 'entity = f"{message.entity_type.value} {message.entity_id}"' in _source("pipeline", "sqs_batch.py")
    assert 'RECORD_KEYS = ("portal", "entity", "ledger_key")' in _source("observability.py")

    rejections = resources["RejectionsByReasonQuery"]["Properties"]["QueryString"]
    assert 'filter message = "deal rejected"' in rejections
    assert 'logger.info("deal rejected", extra={"ledger_key": message.ledger_key, "reasons": list(problems)})' in (
        _source("pipeline", "process.py")
    )

    errors = resources["ErrorsByCauseQuery"]["Properties"]["QueryString"]
    assert 'message = "will retry"' in errors
    assert 'log("will retry", extra={"error": str(failure)' in _source("pipeline", "sqs_batch.py")

    slowest = resources["SlowestBatchesQuery"]["Properties"]["QueryString"]
    assert 'filter message = "batch done"' in slowest
    assert "sort seconds desc" in slowest
    service = _source("pipeline", "sqs_batch.py")
    assert '"batch done"' in service
    assert '"seconds": round(time.monotonic() - started, 3)' in service


def test_dashboard_and_queries_survive_the_transform(template: dict[str, Any]) -> None:
    translated = translate(template)
    assert translated["Resources"]["BridgeDashboard"]["Type"] == "AWS::CloudWatch::Dashboard"
    assert len(resources_of(translated, "AWS::Logs::QueryDefinition")) == len(QUERIES)
    assert "DashboardUrl" in translated["Outputs"]
