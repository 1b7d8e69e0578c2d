"""Alarms that reach someone (issue 12, item 1): each alarm, the topic it notifies, and its runbook section."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.infrastructure.template_support import ROOT, RUNBOOK_PATH, resources_of, the_template, translate

NOTIFY = [{"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}]
SERVICE = [{"Name": "service", "Value": "invoice-bridge"}]

# logical id → (namespace, metric, dimensions, statistic, threshold) of single-metric alarms
METRIC_ALARMS: dict[str, tuple[str, str, list[dict[str, Any]], str, float]] = {
    "WebhookReceiverErrorAlarm": (
        "AWS/Lambda",
        "Errors",
        [{"Name": "FunctionName", "Value": {"Ref": "WebhookReceiverFunction"}}],
        "Sum",
        1,
    ),
    "HttpApi5xxAlarm": (
        "AWS/ApiGateway",
        "5xx",
        [{"Name": "ApiId", "Value": {"Ref": "BridgeHttpApi"}}, {"Name": "Stage", "Value": "$default"}],
        "Sum",
        1,
    ),
    "InvoiceProcessorErrorAlarm": (
        "AWS/Lambda",
        "Errors",
        [{"Name": "FunctionName", "Value": {"Ref": "InvoiceProcessorFunction"}}],
        "Sum",
        1,
    ),
    "InvoiceProcessorThrottleAlarm": (
        "AWS/Lambda",
        "Throttles",
        [{"Name": "FunctionName", "Value": {"Ref": "InvoiceProcessorFunction"}}],
        "Sum",
        1,
    ),
    "InvoiceQueueAgeAlarm": (
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["InvoiceQueue", "QueueName"]}}],
        "Maximum",
        3600,
    ),
    "InvoiceDeadLetterAlarm": (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["InvoiceDeadLetterQueue", "QueueName"]}}],
        "Maximum",
        1,
    ),
    "SetupFailureAlarm": ("InvoiceBridge", "SetupFailures", SERVICE, "Sum", 1),
}
# logical id → the metrics (namespace, name) its expression combines, and its threshold
MATH_ALARMS: dict[str, tuple[set[tuple[str, str]], float]] = {
    "RejectedDealsAlarm": (
        {
            ("InvoiceBridge", "DealsRejected"),
            ("InvoiceBridge", "InvoicesCreated"),
            ("InvoiceBridge", "InvoicesUpdated"),
            ("InvoiceBridge", "InvoicesFound"),
        },
        20,
    ),
    "Bitrix24ThrottlingAlarm": ({("InvoiceBridge", "Bitrix24Throttled"), ("InvoiceBridge", "Bitrix24Requests")}, 10),
    "ReconcilerFailureAlarm": ({("AWS/Lambda", "Errors"), ("AWS/Events", "FailedInvocations")}, 1),
    "StatusSyncFailureAlarm": (
        {("AWS/Lambda", "Errors"), ("AWS/Events", "FailedInvocations"), ("InvoiceBridge", "StatusSyncFailures")},
        1,
    ),
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return the_template()


@pytest.fixture(scope="module")
def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: body["Properties"] for name, body in resources_of(template, "AWS::CloudWatch::Alarm").items()}


def _emitted_metric_names() -> set[str]:
    """Metric names the code adds: `add_metric(name="…")`, and the processor's outcome → metric table."""
    names: set[str] = set()
    for path in [*(ROOT / "shared").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        names.update(re.findall(r'add_metric\(\s*name="([A-Za-z0-9]+)"', text))
        names.update(re.findall(r'OutcomeKind\.[A-Z_]+: "([A-Za-z0-9]+)"', text))  # pipeline.process._METRICS
    return names


def test_every_alarm_is_one_of_these(alarms: dict[str, dict[str, Any]]) -> None:
    assert set(alarms) == set(METRIC_ALARMS) | set(MATH_ALARMS)


@pytest.mark.parametrize("logical_id", sorted(METRIC_ALARMS))
def test_metric_alarm(alarms: dict[str, dict[str, Any]], logical_id: str) -> None:
    namespace, metric, dimensions, statistic, threshold = METRIC_ALARMS[logical_id]
    alarm = alarms[logical_id]
    assert (alarm["Namespace"], alarm["MetricName"]) == (namespace, metric)
    assert alarm["Dimensions"] == dimensions
    assert alarm["Statistic"] == statistic
    assert alarm["Threshold"] == threshold
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    if namespace == "InvoiceBridge":
        assert metric in _emitted_metric_names()


@pytest.mark.parametrize("logical_id", sorted(MATH_ALARMS))
def test_metric_math_alarm(alarms: dict[str, dict[str, Any]], logical_id: str) -> None:
    expected_metrics, threshold = MATH_ALARMS[logical_id]
    alarm = alarms[logical_id]
    queries = alarm["Metrics"]
    [returned] = [query for query in queries if query["ReturnData"]]
    inputs = {query["Id"]: query["MetricStat"] for query in queries if "MetricStat" in query}
    assert {(stat["Metric"]["Namespace"], stat["Metric"]["MetricName"]) for stat in inputs.values()} == expected_metrics
    # the expression combines exactly the metrics it declares
    assert set(re.findall(r"\b([a-z][a-z0-9_]*)\b", returned["Expression"])) == set(inputs)
    assert alarm["Threshold"] == threshold
    assert alarm["TreatMissingData"] == "notBreaching"
    emitted = _emitted_metric_names()
    for namespace, metric in expected_metrics:
        if namespace == "InvoiceBridge":
            assert metric in emitted
            stat = next(s for s in inputs.values() if s["Metric"]["MetricName"] == metric)
            assert stat["Metric"]["Dimensions"] == SERVICE


@pytest.mark.parametrize(
    ("logical_id", "function"),
    [("ReconcilerFailureAlarm", "ReconcilerFunction"), ("StatusSyncFailureAlarm", "StatusSyncFunction")],
)
def test_scheduled_failures_count_runs_the_schedule_could_not_start(
    alarms: dict[str, dict[str, Any]], template: dict[str, Any], logical_id: str, function: str
) -> None:
    stats = [query["MetricStat"]["Metric"] for query in alarms[logical_id]["Metrics"] if "MetricStat" in query]
    [undelivered] = [metric for metric in stats if metric["Namespace"] == "AWS/Events"]
    [rule] = undelivered["Dimensions"]
    assert rule["Name"] == "RuleName"
    # SAM names the schedule's rule <Function><Event>; the reference must exist after the transform
    assert rule["Value"] == {"Ref": f"{function}Sweep"}
    assert translate(template)["Resources"][f"{function}Sweep"]["Type"] == "AWS::Events::Rule"
    [errors] = [metric for metric in stats if metric["MetricName"] == "Errors"]
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function}}]


def test_every_alarm_notifies_the_alarm_topic_of_alarm_and_recovery(alarms: dict[str, dict[str, Any]]) -> None:
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == NOTIFY, name
        assert alarm["OKActions"] == NOTIFY, name


def test_every_alarm_names_its_runbook_section(alarms: dict[str, dict[str, Any]]) -> None:
    headings = set(re.findall(r"^#{2,3} (\S+)\s*$", RUNBOOK_PATH.read_text(encoding="utf-8"), flags=re.MULTILINE))
    for name, alarm in alarms.items():
        assert f"docs/RUNBOOK.md#{name.lower()}" in alarm["AlarmDescription"], name
        assert name in headings, f"docs/RUNBOOK.md has no section '## {name}'"
        assert len(alarm["AlarmDescription"]) <= 1024, name  # CloudWatch's limit


def test_the_stack_makes_its_own_topic_unless_one_is_given(template: dict[str, Any]) -> None:
    topic = template["Resources"]["AlarmTopic"]
    assert topic["Type"] == "AWS::SNS::Topic"
    assert topic["Condition"] == "CreateAlarmTopic"
    assert template["Conditions"]["CreateAlarmTopic"] == {"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}
    # CloudWatch cannot publish to a topic under the AWS-managed SNS key
    assert "KmsMasterKeyId" not in topic.get("Properties", {})
    assert template["Outputs"]["AlarmTopic"]["Value"] == NOTIFY[0]


def test_an_alarm_email_subscribes_to_the_topic_in_use(template: dict[str, Any]) -> None:
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert template["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    properties = subscription["Properties"]
    assert properties["Protocol"] == "email"
    assert properties["Endpoint"] == {"Ref": "AlarmEmail"}
    assert properties["TopicArn"] == NOTIFY[0]


@pytest.mark.parametrize(
    ("value", "accepted"),
    [("", True), ("ops@example.ru", True), ("дежурный@пример.рф", True), ("ops", False), ("a b@c.ru", False)],
)
def test_alarm_email_parameter(template: dict[str, Any], value: str, accepted: bool) -> None:
    parameter = template["Parameters"]["AlarmEmail"]
    assert parameter["Default"] == ""
    assert (re.fullmatch(parameter["AllowedPattern"], value) is not None) is accepted


def test_the_runbook_file_is_where_the_descriptions_say() -> None:
    assert RUNBOOK_PATH.is_file()
    assert RUNBOOK_PATH.relative_to(ROOT).as_posix() == "docs/RUNBOOK.md"
