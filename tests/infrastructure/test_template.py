"""template.yaml: lint, offline SAM translation, our own infrastructure rules, and the local stack built from it."""

from __future__ import annotations

import copy
import json
import re
import tomllib
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import boto3
import pytest
from cfnlint.api import ManualArgs, lint_file
from moto import mock_aws
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from invoice_bridge.config import ProcessorSettings, StatusSyncSettings
from invoice_bridge.ledger.deals import SWEEP_INDEX
from invoice_bridge.ledger.portal_pin import PIN_KEY
from invoice_bridge.retry import JITTER, SQS_MAX_VISIBILITY_SECONDS, backoff_seconds, survivable_outage_seconds
from invoice_bridge.status_sync.open_documents import OPEN_INDEX
from local.aws.template_resources import (
    LocalResources,
    TemplateError,
    create_resources,
    function_environment,
    load_template,
    secret_placeholder_keys,
)
from tests.infrastructure.template_support import translate

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_secretsmanager.client import SecretsManagerClient
    from mypy_boto3_sqs.client import SQSClient

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
REGION = "eu-central-1"
SECRET_KEYS = frozenset(
    {
        "portals",
        "onec_odata_url",
        "onec_username",
        "onec_password",
    }
)
# AWS-managed policies SAM attaches by itself: logs, X-Ray, and polling the SQS event source.
ALLOWED_MANAGED_POLICIES = frozenset(
    {
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
        "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
    }
)
VPC_ACCESS_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
SAM_DEFAULT_TIMEOUT = 3
FOURTEEN_DAYS = 14 * 24 * 3600


# ----------------------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


@pytest.fixture(scope="module")
def translated(template: dict[str, Any]) -> dict[str, Any]:
    """The template as CloudFormation sees it after the SAM transform, produced offline."""
    return translate(template)


def _resources(document: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in document["Resources"].items() if body["Type"] == resource_type}


def _function_setting(template: dict[str, Any], logical_id: str, key: str, default: Any = None) -> Any:
    properties = template["Resources"][logical_id]["Properties"]
    if key in properties:
        return properties[key]
    return template.get("Globals", {}).get("Function", {}).get(key, default)


def _sqs_events(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, function in _resources(template, "AWS::Serverless::Function").items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                yield name, event["Properties"]


def _referenced_ids(value: Any) -> set[str]:
    """Logical ids a (possibly intrinsic) value refers to through Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt" and isinstance(inner, list):
                found.add(str(inner[0]))
            elif key == "Fn::Sub":
                text, variables = (inner[0], inner[1]) if isinstance(inner, list) else (inner, {})
                found.update(set(re.findall(r"\$\{([A-Za-z0-9]+)[.}]", str(text))) - set(variables))
                found.update(_referenced_ids(list(variables.values())))
            else:
                found.update(_referenced_ids(inner))
    elif isinstance(value, list):
        for item in value:
            found.update(_referenced_ids(item))
    return found


def _statements(translated: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, resource in translated["Resources"].items():
        properties = resource.get("Properties", {})
        documents: list[Any] = []
        if resource["Type"] == "AWS::IAM::Role":
            documents = [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents = [properties["PolicyDocument"]]
        for document in documents:
            statements = document["Statement"]
            for statement in statements if isinstance(statements, list) else [statements]:
                yield name, statement


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _requirement_map(lines: list[str]) -> dict[str, Requirement]:
    requirements = [Requirement(line) for line in lines]
    return {canonicalize_name(requirement.name): requirement for requirement in requirements}


def _layer_requirements() -> dict[str, Requirement]:
    lines = []
    for raw in (ROOT / "shared" / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith(("#", "-")):
            lines.append(line)
    return _requirement_map(lines)


def _project_requirements() -> dict[str, Requirement]:
    with (ROOT / "pyproject.toml").open("rb") as stream:
        project = tomllib.load(stream)["project"]
    runtime = _requirement_map(project["dependencies"])
    runtime.pop("boto3")  # the Lambda runtime provides boto3
    return runtime


# ----------------------------------------------------------------------------------------------------------
# Lint and translation


def test_cfn_lint_reports_nothing() -> None:
    matches = lint_file(TEMPLATE_PATH, config=ManualArgs(regions=["us-east-1", "eu-central-1", "eu-north-1"]))
    assert [str(match) for match in matches] == []


def test_translates_offline_into_the_expected_resources(translated: dict[str, Any]) -> None:
    functions = _resources(translated, "AWS::Lambda::Function")
    assert set(functions) == {
        "WebhookReceiverFunction",
        "InvoiceProcessorFunction",
        "ReconcilerFunction",
        "StatusSyncFunction",
    }
    assert len(_resources(translated, "AWS::Lambda::LayerVersion")) == 1
    assert len(_resources(translated, "AWS::ApiGatewayV2::Api")) == 1
    assert len(_resources(translated, "AWS::ApiGatewayV2::Stage")) == 1
    assert len(_resources(translated, "AWS::IAM::Role")) == 4
    assert len(_resources(translated, "AWS::Events::Rule")) == 2

    (mapping,) = _resources(translated, "AWS::Lambda::EventSourceMapping").values()
    properties = mapping["Properties"]
    assert properties["FunctionName"] == {"Ref": "InvoiceProcessorFunction"}
    assert properties["EventSourceArn"] == {"Fn::GetAtt": ["InvoiceQueue", "Arn"]}
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "ProcessorMaxConcurrency"}}
    assert properties["BatchSize"] == 36


def test_webhook_route_is_post_on_the_http_api(translated: dict[str, Any]) -> None:
    (api,) = _resources(translated, "AWS::ApiGatewayV2::Api").values()
    paths = api["Properties"]["Body"]["paths"]
    assert set(paths) == {"/bitrix24/events"}
    assert set(paths["/bitrix24/events"]) == {"post"}

    (stage,) = _resources(translated, "AWS::ApiGatewayV2::Stage").values()
    assert stage["Properties"]["StageName"] == "$default"
    throttling = stage["Properties"]["DefaultRouteSettings"]
    assert throttling["ThrottlingBurstLimit"] > 0
    assert throttling["ThrottlingRateLimit"] > 0
    log_group = stage["Properties"]["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    assert translated["Resources"][log_group]["Type"] == "AWS::Logs::LogGroup"


def test_functions_run_python312_on_arm64_with_tracing_and_the_layer(translated: dict[str, Any]) -> None:
    (layer_id,) = _resources(translated, "AWS::Lambda::LayerVersion")
    layer = translated["Resources"][layer_id]["Properties"]
    assert layer["CompatibleRuntimes"] == ["python3.12"]
    assert layer["CompatibleArchitectures"] == ["arm64"]
    for name, function in _resources(translated, "AWS::Lambda::Function").items():
        properties = function["Properties"]
        assert properties["Runtime"] == "python3.12", name
        assert properties["Architectures"] == ["arm64"], name
        assert properties["TracingConfig"] == {"Mode": "Active"}, name
        assert properties["Layers"] == [{"Ref": layer_id}], name


def test_layer_is_built_from_shared_for_arm64(template: dict[str, Any]) -> None:
    layer = template["Resources"]["BridgeLayer"]
    assert layer["Properties"]["ContentUri"] == "shared/"
    assert layer["Metadata"] == {"BuildMethod": "python3.12", "BuildArchitecture": "arm64"}
    assert (ROOT / "shared" / "requirements.txt").is_file()


def test_function_code_folders_exist(template: dict[str, Any]) -> None:
    for name, function in _resources(template, "AWS::Serverless::Function").items():
        assert (ROOT / function["Properties"]["CodeUri"]).is_dir(), name


def test_environment_variables(translated: dict[str, Any]) -> None:
    common = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL", "BRIDGE_SECRET_ID"}
    expected = {
        "WebhookReceiverFunction": common | {"QUEUE_URL", "LEDGER_TABLE_NAME", "MAX_WEBHOOK_BODY_BYTES"},
        "InvoiceProcessorFunction": common
        | {
            "LEDGER_TABLE_NAME",
            "QUEUE_URL",
            "TRIGGER_STAGE_IDS",
            "DOCUMENT_KIND",
            "ONEC_ORGANIZATION_INN",
            "DOCUMENT_TIMEZONE",
            "WRITEBACK_FIELD",
            "ONEC_POST_DOCUMENTS",
            "ONEC_CREATE_COUNTERPARTIES",
            "ONEC_CREATE_CONTRACTS",
            "ONEC_ITEM_CODE_FIELD",
            "ON_LEAVING_TRIGGER",
            "MESSAGE_LANGUAGE",
            "PREFLIGHT_STAGE_IDS",
            "ONEC_WEB_CLIENT_URL",
            "RETRY_BACKOFF_SECONDS",
            "RETRY_BACKOFF_MAX_SECONDS",
            "BREAKER_FAILURE_THRESHOLD",
            "BREAKER_OPEN_SECONDS",
            "LEASE_SECONDS",
        },
        "ReconcilerFunction": common
        | {"LEDGER_TABLE_NAME", "QUEUE_URL", "TRIGGER_STAGE_IDS", "RETRY_BACKOFF_MAX_SECONDS"},
        "StatusSyncFunction": common
        | {
            "LEDGER_TABLE_NAME",
            "DOCUMENT_KIND",
            "STATUS_SYNC_DAYS",
            "PAID_STAGE_ID",
            "PARTLY_PAID_STAGE_ID",
            "MOVE_INVOICE_TO_PAID_STAGE",
            "STAGE_MOVES_BACKWARDS",
            "PAID_AMOUNT_FIELD",
            "PAID_DATE_FIELD",
            "MESSAGE_LANGUAGE",
        },
    }
    for name, function in _resources(translated, "AWS::Lambda::Function").items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert set(variables) == expected[name]
        assert variables["BRIDGE_SECRET_ID"] == {"Ref": "BridgeSecret"}


# ----------------------------------------------------------------------------------------------------------
# Our own rules


def test_queue_visibility_covers_six_processor_timeouts(template: dict[str, Any]) -> None:
    events = list(_sqs_events(template))
    assert events, "no SQS event source in the template"
    for function_id, event in events:
        queue_id = event["Queue"]["Fn::GetAtt"][0]
        queue = template["Resources"][queue_id]["Properties"]
        timeout = _function_setting(template, function_id, "Timeout", SAM_DEFAULT_TIMEOUT)
        assert queue.get("VisibilityTimeout", 30) >= 6 * timeout, (queue_id, function_id)


def test_sqs_event_sources_set_batch_size_and_partial_failures(template: dict[str, Any]) -> None:
    for function_id, event in _sqs_events(template):
        assert isinstance(event.get("BatchSize"), int), function_id
        assert event.get("FunctionResponseTypes") == ["ReportBatchItemFailures"], function_id
        assert "MaximumConcurrency" in event.get("ScalingConfig", {}), function_id


def test_redrive_to_a_dead_letter_queue_that_keeps_messages_14_days(template: dict[str, Any]) -> None:
    for function_id, event in _sqs_events(template):
        queue = template["Resources"][event["Queue"]["Fn::GetAtt"][0]]["Properties"]
        redrive = queue["RedrivePolicy"]
        assert redrive["maxReceiveCount"] >= 5, function_id
        dead_letter_id = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
        dead_letter = template["Resources"][dead_letter_id]
        assert dead_letter["Type"] == "AWS::SQS::Queue"
        assert dead_letter["Properties"]["MessageRetentionPeriod"] == FOURTEEN_DAYS


def _processor_variable(template: dict[str, Any], name: str) -> int:
    variables = template["Resources"]["InvoiceProcessorFunction"]["Properties"]["Environment"]["Variables"]
    return int(variables[name])


def test_a_message_outlasts_a_six_hour_outage_before_the_dlq(template: dict[str, Any]) -> None:
    """The shortest life of a failing message: the delays after its first maxReceiveCount-1 receives, each
    min(max, base * 2^(n-1)) — jitter only lengthens them."""
    base = _processor_variable(template, "RETRY_BACKOFF_SECONDS")
    cap = _processor_variable(template, "RETRY_BACKOFF_MAX_SECONDS")
    receives = template["Resources"]["InvoiceQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]
    steps = [min(cap, base * 2 ** (n - 1)) for n in range(1, receives)]
    assert sum(steps) >= 6 * 3600
    assert [backoff_seconds(n, base, cap) for n in range(1, receives)] == steps  # the code waits these steps
    assert survivable_outage_seconds(base, cap, receives) == sum(steps)
    # the longest delay with its jitter fits ChangeMessageVisibility; messages are kept past their last try
    assert cap * (1 + JITTER) <= SQS_MAX_VISIBILITY_SECONDS
    retention = template["Resources"]["InvoiceQueue"]["Properties"]["MessageRetentionPeriod"]
    assert sum(min(cap, base * 2 ** (n - 1)) * (1 + JITTER) for n in range(1, receives + 1)) < retention
    # the template's settings are the ones the code defaults to (the soak reads either)
    defaults = ProcessorSettings.model_fields
    assert defaults["retry_backoff_seconds"].default == base
    assert defaults["retry_backoff_max_seconds"].default == cap
    assert defaults["breaker_failure_threshold"].default == _processor_variable(template, "BREAKER_FAILURE_THRESHOLD")
    assert defaults["breaker_open_seconds"].default == _processor_variable(template, "BREAKER_OPEN_SECONDS")
    assert defaults["lease_seconds"].default == _processor_variable(template, "LEASE_SECONDS")


def test_a_lease_outlives_the_processor_that_holds_it(template: dict[str, Any]) -> None:
    timeout = _function_setting(template, "InvoiceProcessorFunction", "Timeout", SAM_DEFAULT_TIMEOUT)
    assert _processor_variable(template, "LEASE_SECONDS") > timeout


def test_setup_failures_are_alarmed(template: dict[str, Any]) -> None:
    alarm = template["Resources"]["SetupFailureAlarm"]["Properties"]
    globals_ = template["Globals"]["Function"]["Environment"]["Variables"]
    assert alarm["Namespace"] == globals_["POWERTOOLS_METRICS_NAMESPACE"]
    assert alarm["MetricName"] == "SetupFailures"
    # Powertools adds the service as the metric's one dimension
    assert alarm["Dimensions"] == [{"Name": "service", "Value": globals_["POWERTOOLS_SERVICE_NAME"]}]
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["AlarmActions"] == [{"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}]


def test_queues_are_encrypted(template: dict[str, Any]) -> None:
    for name, queue in _resources(template, "AWS::SQS::Queue").items():
        assert queue["Properties"].get("SqsManagedSseEnabled") is True, name


def test_dead_letter_alarm_notifies_the_alarm_topic(template: dict[str, Any]) -> None:
    alarm = template["Resources"]["InvoiceDeadLetterAlarm"]["Properties"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["InvoiceDeadLetterQueue", "QueueName"]}}
    ]
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # the stack's own topic unless AlarmTopicArn names another (tests/infrastructure/test_alarms.py)
    [action] = alarm["AlarmActions"]
    condition = action["Fn::If"][0]
    assert template["Conditions"][condition] == {"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}
    assert action["Fn::If"][1:] == [{"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]


def test_no_wildcard_iam_actions(template: dict[str, Any], translated: dict[str, Any]) -> None:
    own_resources = set(template["Resources"])
    statements = list(_statements(translated))
    assert statements, "no IAM statements found after translation"
    for role, statement in statements:
        actions = _as_list(statement.get("Action", []))
        for action in actions:
            assert action != "*", (role, statement)
            assert not action.endswith(":*"), (role, statement)
        if any("*" in action for action in actions):
            touched = _referenced_ids(statement.get("Resource")) & own_resources
            assert not touched, f"{role}: wildcard action on our own resources {touched}"


def test_only_expected_managed_policies(translated: dict[str, Any]) -> None:
    for name, role in _resources(translated, "AWS::IAM::Role").items():
        arns = set(role["Properties"].get("ManagedPolicyArns", []))
        # SAM attaches the network-interface policy to a function whose VpcConfig may be set (VpcSubnetIds)
        in_vpc = name in ("InvoiceProcessorFunctionRole", "StatusSyncFunctionRole")  # the functions that call 1C
        allowed = ALLOWED_MANAGED_POLICIES | ({VPC_ACCESS_POLICY} if in_vpc else set())
        assert arns <= allowed, (name, arns - allowed)


def test_processor_touches_only_the_ledger_and_the_secret(translated: dict[str, Any]) -> None:
    assert _granted(translated, "InvoiceProcessorFunctionRole") == {
        "dynamodb:GetItem": {"LedgerTable"},
        "dynamodb:UpdateItem": {"LedgerTable"},
        "sqs:ChangeMessageVisibility": {"InvoiceQueue"},
        "sqs:SendMessage": {"InvoiceQueue"},
        "secretsmanager:GetSecretValue": {"BridgeSecret"},
    }


def test_receiver_may_only_enqueue_read_the_secret_and_the_portal_pin(translated: dict[str, Any]) -> None:
    assert _granted(translated, "WebhookReceiverFunctionRole") == {
        "sqs:SendMessage": {"InvoiceQueue"},
        "secretsmanager:GetSecretValue": {"BridgeSecret"},
        "dynamodb:GetItem": {"LedgerTable"},
        "dynamodb:UpdateItem": {"LedgerTable"},
    }
    [pin] = [
        statement
        for name, statement in _statements(translated)
        if name == "WebhookReceiverFunctionRole" and "dynamodb:GetItem" in _as_list(statement["Action"])
    ]
    # no deal record: only the ledger item that pins the first release's single portal
    assert pin["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [PIN_KEY]}}


def test_reconciler_reads_the_ledger_and_enqueues_only(translated: dict[str, Any]) -> None:
    assert _granted(translated, "ReconcilerFunctionRole") == {
        "dynamodb:GetItem": {"LedgerTable"},
        "dynamodb:BatchGetItem": {"LedgerTable"},
        "dynamodb:UpdateItem": {"LedgerTable"},
        "dynamodb:Query": {"LedgerTable"},
        "sqs:SendMessage": {"InvoiceQueue"},
        "secretsmanager:GetSecretValue": {"BridgeSecret"},
    }
    [query] = [
        statement
        for name, statement in _statements(translated)
        if name == "ReconcilerFunctionRole" and "dynamodb:Query" in _as_list(statement["Action"])
    ]
    # the sweep's index only: never a query (or scan) of the table itself
    assert _as_list(query["Action"]) == ["dynamodb:Query"]
    assert query["Resource"] == {"Fn::Sub": f"${{LedgerTable.Arn}}/index/{SWEEP_INDEX}"}


def test_ledger_sweep_index_is_sparse_and_small(template: dict[str, Any]) -> None:
    table = template["Resources"]["LedgerTable"]["Properties"]
    [index] = [i for i in table["GlobalSecondaryIndexes"] if i["IndexName"] == SWEEP_INDEX]
    assert index["KeySchema"] == [
        {"AttributeName": "sweep", "KeyType": "HASH"},
        {"AttributeName": "sweep_at", "KeyType": "RANGE"},
    ]
    # only unfinished items carry these attributes (the ledger removes them when a deal is done)
    assert {"AttributeName": "sweep", "AttributeType": "S"} in table["AttributeDefinitions"]
    assert {"AttributeName": "sweep_at", "AttributeType": "N"} in table["AttributeDefinitions"]
    assert index["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["status"]}


def test_status_sync_reads_the_open_documents_index_and_records_what_was_told(translated: dict[str, Any]) -> None:
    assert _granted(translated, "StatusSyncFunctionRole") == {
        "dynamodb:GetItem": {"LedgerTable"},
        "dynamodb:UpdateItem": {"LedgerTable"},
        "dynamodb:Query": {"LedgerTable"},
        "secretsmanager:GetSecretValue": {"BridgeSecret"},
        "sqs:SendMessage": {"StatusSyncDeadLetterQueue"},  # its failed runs (test_network_and_schedule.py)
    }
    [query] = [
        statement
        for name, statement in _statements(translated)
        if name == "StatusSyncFunctionRole" and "dynamodb:Query" in _as_list(statement["Action"])
    ]
    # the open documents' index only: never a query (or scan) of the table itself
    assert _as_list(query["Action"]) == ["dynamodb:Query"]
    assert query["Resource"] == {"Fn::Sub": f"${{LedgerTable.Arn}}/index/{OPEN_INDEX}"}


def test_status_sync_runs_alone_on_its_own_schedule(template: dict[str, Any]) -> None:
    function = template["Resources"]["StatusSyncFunction"]["Properties"]
    assert function["ReservedConcurrentExecutions"] == 1  # a transition is told, then recorded
    [event] = function["Events"].values()
    assert event["Type"] == "Schedule"
    assert event["Properties"]["Schedule"] == {"Ref": "StatusSyncSchedule"}
    # its retry policy and dead-letter queue: tests/infrastructure/test_network_and_schedule.py
    assert template["Parameters"]["StatusSyncSchedule"]["Default"] == "rate(10 minutes)"
    assert template["Parameters"]["StatusSyncDays"]["Default"] == 90
    assert function["Timeout"] >= 120


def test_open_documents_index_is_sparse_and_carries_what_the_sweep_reads(template: dict[str, Any]) -> None:
    table = template["Resources"]["LedgerTable"]["Properties"]
    [index] = [i for i in table["GlobalSecondaryIndexes"] if i["IndexName"] == OPEN_INDEX]
    assert index["KeySchema"] == [
        {"AttributeName": "open_portal", "KeyType": "HASH"},
        {"AttributeName": "opened_at", "KeyType": "RANGE"},
    ]
    assert {"AttributeName": "open_portal", "AttributeType": "S"} in table["AttributeDefinitions"]
    assert {"AttributeName": "opened_at", "AttributeType": "N"} in table["AttributeDefinitions"]
    assert index["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": ["onec_ref_key", "onec_number", "sync_told", "sync_category"],
    }


def test_status_sync_parameters_reach_its_settings(template: dict[str, Any]) -> None:
    variables = template["Resources"]["StatusSyncFunction"]["Properties"]["Environment"]["Variables"]
    fields = set(StatusSyncSettings.model_fields)
    for name in variables:
        assert name.lower() in fields, name
    stages = template["Parameters"]["PaidStageId"]["AllowedPattern"]
    assert re.fullmatch(stages, "C1:WON,WON")
    assert not re.fullmatch(template["Parameters"]["PaidAmountField"]["AllowedPattern"], "OPPORTUNITY")


def _granted(translated: dict[str, Any], role: str) -> dict[str, set[str]]:
    """Action → the logical ids of our resources it is granted on, for one role's inline statements."""
    return {
        action: _referenced_ids(statement["Resource"])
        for name, statement in _statements(translated)
        if name == role
        for action in _as_list(statement["Action"])
    }


def _looks_like_placeholder(value: str) -> bool:
    if "CHANGE_ME" in value:
        return True
    host = urlparse(value).hostname or ""
    return host == "example.invalid" or host.endswith(".invalid")


def test_secret_holds_placeholders_for_exactly_the_design_keys(template: dict[str, Any]) -> None:
    secret = template["Resources"]["BridgeSecret"]["Properties"]
    assert secret["Name"] == {"Fn::Sub": "${AWS::StackName}/bridge"}
    assert "after" in secret["Description"]
    assert "GenerateSecretString" not in secret
    placeholder = json.loads(secret["SecretString"])
    assert set(placeholder) == SECRET_KEYS
    assert secret_placeholder_keys(template) == SECRET_KEYS
    [portal] = placeholder["portals"]
    assert set(portal) == {"member_id", "domain", "webhook_url", "application_tokens"}
    assert isinstance(portal["application_tokens"], list)
    values = {**{k: v for k, v in placeholder.items() if k != "portals"}, **portal}
    for key, value in values.items():
        for item in _as_list(value):
            assert isinstance(item, str), key
            assert _looks_like_placeholder(item), f"{key} looks like a real value: {item!r}"


def test_ledger_table_has_pitr_ttl_and_encryption(template: dict[str, Any]) -> None:
    table = template["Resources"]["LedgerTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"][0] == {"AttributeName": "pk", "AttributeType": "S"}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}


def test_every_function_logs_to_its_own_group_with_retention(template: dict[str, Any]) -> None:
    log_groups = _resources(template, "AWS::Logs::LogGroup")
    used: set[str] = set()
    for name, function in _resources(template, "AWS::Serverless::Function").items():
        group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert group_id in log_groups, name
        assert group_id not in used, f"{name} shares a log group"
        used.add(group_id)
    for name, group in log_groups.items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name


def test_parameters_match_the_configuration_contract(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    assert parameters["ProcessorMaxConcurrency"]["MinValue"] == 2
    assert parameters["ProcessorMaxConcurrency"]["Default"] >= 2
    document_kinds = typing.get_args(ProcessorSettings.model_fields["document_kind"].annotation)
    assert parameters["DocumentKind"]["AllowedValues"] == list(document_kinds)
    assert parameters["LogRetentionDays"]["Default"] in parameters["LogRetentionDays"]["AllowedValues"]
    assert parameters["TriggerStageIds"]["Default"] == ""
    inn = parameters["OnecOrganizationInn"]["AllowedPattern"]
    for good in ("", "7707083893", "500100732259"):
        assert re.fullmatch(inn, good), good
    for bad in ("77070838", "77070838931", "770708389a", "7707083893 "):
        assert not re.fullmatch(inn, bad), bad
    stages = parameters["TriggerStageIds"]["AllowedPattern"]
    assert re.fullmatch(stages, "C1:UC_INVOICE,WON")


def test_outputs(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert set(outputs) == {
        "WebhookUrl",
        "QueueUrl",
        "DeadLetterQueueUrl",
        "LedgerTableName",
        "SecretArn",
        "AlarmTopic",
        "DashboardUrl",
    }
    assert outputs["WebhookUrl"]["Value"] == {
        "Fn::Sub": "https://${BridgeHttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/bitrix24/events"
    }


def test_samconfig_deploys_the_stack_with_iam_capability() -> None:
    with (ROOT / "samconfig.toml").open("rb") as stream:
        config = tomllib.load(stream)
    assert config["version"] == 0.1
    assert config["default"]["global"]["parameters"]["stack_name"] == "invoice-bridge"
    deploy = config["default"]["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True
    assert "region" not in deploy


# ----------------------------------------------------------------------------------------------------------
# The layer's requirements follow pyproject.toml


def test_layer_requirements_name_the_runtime_dependencies() -> None:
    assert set(_layer_requirements()) == set(_project_requirements())


def test_layer_requirements_use_the_same_versions_and_extras() -> None:
    layer = _layer_requirements()
    for name, requirement in _project_requirements().items():
        assert layer[name].specifier == requirement.specifier, name
        assert layer[name].extras == requirement.extras, name


# ----------------------------------------------------------------------------------------------------------
# local/aws/template_resources.py against moto


@pytest.fixture
def aws() -> Iterator[tuple[SQSClient, DynamoDBClient, SecretsManagerClient]]:
    with mock_aws():
        yield (
            boto3.client("sqs", region_name=REGION),
            boto3.client("dynamodb", region_name=REGION),
            boto3.client("secretsmanager", region_name=REGION),
        )


def _secret_value() -> dict[str, Any]:
    return {
        "portals": [
            {
                "member_id": "5b1f0c4e9a7d4c2e8f3a6b0d1e2c3f4a",
                "domain": "sandbox.bitrix24.test",
                "webhook_url": "http://127.0.0.1:8001/rest/1/sandbox/",
                "application_tokens": ["sandbox-token"],
            }
        ],
        "onec_odata_url": "http://127.0.0.1:8002/odata/standard.odata/",
        "onec_username": "odata.user",
        "onec_password": "sandbox-password",
    }


def _create(
    aws: tuple[SQSClient, DynamoDBClient, SecretsManagerClient],
    template: dict[str, Any],
    secret_value: dict[str, Any] | None = None,
) -> LocalResources:
    sqs, dynamodb, secretsmanager = aws
    return create_resources(
        sqs=sqs,
        dynamodb=dynamodb,
        secretsmanager=secretsmanager,
        template=template,
        stack_name="local",
        secret_value=_secret_value() if secret_value is None else secret_value,
    )


def test_load_template_understands_short_form_tags(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n"
        "  R:\n"
        "    Type: X\n"
        "    Properties:\n"
        "      A: !Ref P\n"
        "      B: !GetAtt Q.Arn\n"
        "      C: !GetAtt [Q, Endpoint.Address]\n"
        "      D: !Sub '${AWS::StackName}-x'\n"
        "      E: !Sub ['${a}', {a: !Ref P}]\n"
        "      F: !If [Cond, !Join [',', [a, b]], !Ref AWS::NoValue]\n"
        "      G: !Not [!Equals [!Ref P, '']]\n"
        "      H: !Select [0, !Split [',', !Ref P]]\n"
        "      I: !FindInMap [M, K, V]\n"
        "      J: !Base64 {'Fn::Sub': x}\n"
        "      K: !Condition Cond\n"
        "      L: !GetAtt R.Endpoint.Port\n",
        encoding="utf-8",
    )
    properties = load_template(path)["Resources"]["R"]["Properties"]
    assert properties == {
        "A": {"Ref": "P"},
        "B": {"Fn::GetAtt": ["Q", "Arn"]},
        "C": {"Fn::GetAtt": ["Q", "Endpoint.Address"]},
        "D": {"Fn::Sub": "${AWS::StackName}-x"},
        "E": {"Fn::Sub": ["${a}", {"a": {"Ref": "P"}}]},
        "F": {"Fn::If": ["Cond", {"Fn::Join": [",", ["a", "b"]]}, {"Ref": "AWS::NoValue"}]},
        "G": {"Fn::Not": [{"Fn::Equals": [{"Ref": "P"}, ""]}]},
        "H": {"Fn::Select": [0, {"Fn::Split": [",", {"Ref": "P"}]}]},
        "I": {"Fn::FindInMap": ["M", "K", "V"]},
        "J": {"Fn::Base64": {"Fn::Sub": "x"}},
        "K": {"Condition": "Cond"},
        "L": {"Fn::GetAtt": ["R", "Endpoint.Port"]},
    }


def test_load_template_rejects_a_document_without_resources(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("just: text\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="no Resources"):
        load_template(path)


def test_creates_queue_with_redrive_to_the_dead_letter_queue(
    aws: tuple[SQSClient, DynamoDBClient, SecretsManagerClient], template: dict[str, Any]
) -> None:
    sqs = aws[0]
    resources = _create(aws, template)
    assert resources.queue_url.endswith("/local-InvoiceQueue")
    assert resources.dead_letter_queue_url.endswith("/local-InvoiceDeadLetterQueue")

    queue = sqs.get_queue_attributes(QueueUrl=resources.queue_url, AttributeNames=["All"])["Attributes"]
    dead_letter = sqs.get_queue_attributes(QueueUrl=resources.dead_letter_queue_url, AttributeNames=["All"])[
        "Attributes"
    ]
    assert queue["VisibilityTimeout"] == str(template["Resources"]["InvoiceQueue"]["Properties"]["VisibilityTimeout"])
    assert json.loads(queue["RedrivePolicy"]) == {
        "deadLetterTargetArn": dead_letter["QueueArn"],
        "maxReceiveCount": template["Resources"]["InvoiceQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"],
    }
    assert dead_letter["MessageRetentionPeriod"] == str(FOURTEEN_DAYS)


def test_creates_the_ledger_table_with_ttl_and_pitr(
    aws: tuple[SQSClient, DynamoDBClient, SecretsManagerClient], template: dict[str, Any]
) -> None:
    dynamodb = aws[1]
    resources = _create(aws, template)
    assert resources.table_name == "local-LedgerTable"
    table = dynamodb.describe_table(TableName=resources.table_name)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = dynamodb.describe_time_to_live(TableName=resources.table_name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    backups = dynamodb.describe_continuous_backups(TableName=resources.table_name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {SWEEP_INDEX, OPEN_INDEX}
    assert [part["AttributeName"] for part in indexes[SWEEP_INDEX]["KeySchema"]] == ["sweep", "sweep_at"]
    assert [part["AttributeName"] for part in indexes[OPEN_INDEX]["KeySchema"]] == ["open_portal", "opened_at"]


def test_creates_the_secret_with_the_given_value(
    aws: tuple[SQSClient, DynamoDBClient, SecretsManagerClient], template: dict[str, Any]
) -> None:
    secretsmanager = aws[2]
    resources = _create(aws, template)
    secret = secretsmanager.get_secret_value(SecretId=resources.secret_id)
    assert secret["Name"] == "local/bridge"
    assert json.loads(secret["SecretString"]) == _secret_value()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda value: value.pop("onec_password"), r"missing keys \['onec_password'\]"),
        (lambda value: value.update(debug=True), r"unexpected keys \['debug'\]"),
    ],
)
def test_wrong_secret_keys_are_refused_before_anything_is_created(
    aws: tuple[SQSClient, DynamoDBClient, SecretsManagerClient],
    template: dict[str, Any],
    change: Any,
    message: str,
) -> None:
    sqs, dynamodb, secretsmanager = aws
    value = _secret_value()
    change(value)
    with pytest.raises(ValueError, match=message):
        _create(aws, template, value)
    assert sqs.list_queues().get("QueueUrls", []) == []
    assert dynamodb.list_tables()["TableNames"] == []
    assert secretsmanager.list_secrets()["SecretList"] == []


def test_unsupported_intrinsic_is_a_clear_error(
    aws: tuple[SQSClient, DynamoDBClient, SecretsManagerClient], template: dict[str, Any]
) -> None:
    changed = copy.deepcopy(template)
    queue = changed["Resources"]["InvoiceQueue"]["Properties"]
    queue["VisibilityTimeout"] = {"Fn::If": ["HasAlarmTopic", 360, 720]}
    with pytest.raises(TemplateError, match=r"InvoiceQueue: the local stack does not support Fn::If"):
        _create(aws, changed)


def test_unknown_property_is_a_clear_error(
    aws: tuple[SQSClient, DynamoDBClient, SecretsManagerClient], template: dict[str, Any]
) -> None:
    changed = copy.deepcopy(template)
    changed["Resources"]["LedgerTable"]["Properties"]["StreamSpecification"] = {"StreamViewType": "NEW_IMAGE"}
    with pytest.raises(TemplateError, match=r"LedgerTable: .*\['StreamSpecification'\]"):
        _create(aws, changed)


def test_function_environment_is_the_deployed_one(
    aws: tuple[SQSClient, DynamoDBClient, SecretsManagerClient], template: dict[str, Any]
) -> None:
    resources = _create(aws, template)
    common = {
        "POWERTOOLS_SERVICE_NAME": "invoice-bridge",
        "POWERTOOLS_METRICS_NAMESPACE": "InvoiceBridge",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "BRIDGE_SECRET_ID": resources.secret_id,
    }
    assert function_environment(template, "WebhookReceiverFunction", resources) == {
        **common,
        "QUEUE_URL": resources.queue_url,
        "LEDGER_TABLE_NAME": resources.table_name,
        "MAX_WEBHOOK_BODY_BYTES": "16384",
    }
    assert function_environment(template, "InvoiceProcessorFunction", resources) == {
        **common,
        "LEDGER_TABLE_NAME": "local-LedgerTable",
        "QUEUE_URL": resources.queue_url,
        "TRIGGER_STAGE_IDS": "",
        "DOCUMENT_KIND": "buyer_invoice",
        "ONEC_ORGANIZATION_INN": "",
        "DOCUMENT_TIMEZONE": "Europe/Moscow",
        "WRITEBACK_FIELD": "",
        "ONEC_POST_DOCUMENTS": "false",
        "ONEC_CREATE_COUNTERPARTIES": "false",
        "ONEC_CREATE_CONTRACTS": "false",
        "ONEC_ITEM_CODE_FIELD": "Code",
        "ON_LEAVING_TRIGGER": "comment",
        "MESSAGE_LANGUAGE": "ru",
        "PREFLIGHT_STAGE_IDS": "",
        "ONEC_WEB_CLIENT_URL": "",
        "RETRY_BACKOFF_SECONDS": "30",
        "RETRY_BACKOFF_MAX_SECONDS": "3600",
        "BREAKER_FAILURE_THRESHOLD": "5",
        "BREAKER_OPEN_SECONDS": "60",
        "LEASE_SECONDS": "180",
    }


def test_function_environment_applies_parameter_overrides(template: dict[str, Any]) -> None:
    resources = LocalResources(
        queue_url="http://127.0.0.1:5000/123456789012/q",
        dead_letter_queue_url="http://127.0.0.1:5000/123456789012/dlq",
        table_name="t",
        secret_id="s",
    )
    environment = function_environment(
        template,
        "InvoiceProcessorFunction",
        resources,
        {"TriggerStageIds": "C1:UC_INVOICE", "OnecOrganizationInn": "7707083893", "LogLevel": "DEBUG"},
    )
    assert environment["TRIGGER_STAGE_IDS"] == "C1:UC_INVOICE"
    assert environment["ONEC_ORGANIZATION_INN"] == "7707083893"
    assert environment["POWERTOOLS_LOG_LEVEL"] == "DEBUG"
    assert environment["LEDGER_TABLE_NAME"] == "t"
    assert environment["BRIDGE_SECRET_ID"] == "s"


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"OnecOrganizationInn": "123"}, "does not match"),
        ({"DocumentKind": "act"}, "is not one of"),
        ({"NoSuchParameter": "x"}, "unknown template parameters"),
    ],
)
def test_function_environment_refuses_bad_parameters(
    template: dict[str, Any], parameters: dict[str, str], message: str
) -> None:
    resources = LocalResources(queue_url="q", dead_letter_queue_url="d", table_name="t", secret_id="s")
    with pytest.raises(ValueError, match=message):
        function_environment(template, "InvoiceProcessorFunction", resources, parameters)


def test_function_environment_needs_a_function(template: dict[str, Any]) -> None:
    resources = LocalResources(queue_url="q", dead_letter_queue_url="d", table_name="t", secret_id="s")
    with pytest.raises(TemplateError, match="not an AWS::Serverless::Function"):
        function_environment(template, "LedgerTable", resources)
