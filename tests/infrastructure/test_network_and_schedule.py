"""The network path to 1C (VPC parameters, issue 12 item 5) and the reconciler's schedule retry policy and DLQ.

With and without a VPC the template translates and lints clean: cfn-lint runs on a copy whose parameter
defaults are a VPC set-up, and the conditions are evaluated for both to see what each deploys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file

from tests.infrastructure.template_support import TEMPLATE_PATH, the_template, translate

IN_A_VPC = {
    "VpcSubnetIds": "subnet-0a1b2c3d4e5f60718,subnet-0f1e2d3c4b5a69788",
    "VpcSecurityGroupIds": "sg-0123456789abcdef0",
    "VpcId": "vpc-0123456789abcdef0",
    "VpcRouteTableIds": "rtb-0123456789abcdef0",
    "VpcInterfaceEndpoints": "true",
}
VPC_RESOURCES = {
    "DynamoDbGatewayEndpoint",
    "VpcEndpointSecurityGroup",
    "SqsInterfaceEndpoint",
    "SecretsManagerInterfaceEndpoint",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return the_template()


def _value(parameters: dict[str, Any], name: str, given: dict[str, str]) -> Any:
    declared = parameters[name]
    raw = given.get(name, declared.get("Default", ""))
    return [part.strip() for part in str(raw).split(",")] if declared["Type"] == "CommaDelimitedList" else str(raw)


def _evaluate(node: Any, template: dict[str, Any], given: dict[str, str]) -> Any:
    """The few intrinsics our Conditions use, with parameter values."""
    if isinstance(node, dict) and len(node) == 1:
        ((key, argument),) = node.items()
        if key == "Ref":
            return _value(template["Parameters"], argument, given)
        if key == "Condition":
            return _evaluate(template["Conditions"][argument], template, given)
        if key == "Fn::Equals":
            return _evaluate(argument[0], template, given) == _evaluate(argument[1], template, given)
        if key == "Fn::Not":
            return not _evaluate(argument[0], template, given)
        if key == "Fn::And":
            return all(_evaluate(item, template, given) for item in argument)
        if key == "Fn::Join":
            return argument[0].join(_evaluate(argument[1], template, given))
    return node


def _deployed(template: dict[str, Any], given: dict[str, str]) -> set[str]:
    return {
        name
        for name, body in template["Resources"].items()
        if "Condition" not in body or _evaluate({"Condition": body["Condition"]}, template, given)
    }


def test_without_a_vpc_nothing_of_the_vpc_is_deployed(template: dict[str, Any]) -> None:
    deployed = _deployed(template, {})
    assert not deployed & VPC_RESOURCES
    assert _evaluate({"Condition": "InVpc"}, template, {}) is False


def test_in_a_vpc_the_processor_and_its_endpoints_are(template: dict[str, Any]) -> None:
    deployed = _deployed(template, IN_A_VPC)
    assert VPC_RESOURCES <= deployed
    vpc_config = template["Resources"]["InvoiceProcessorFunction"]["Properties"]["VpcConfig"]
    condition, inside, outside = vpc_config["Fn::If"]
    assert _evaluate({"Condition": condition}, template, IN_A_VPC) is True
    assert inside == {"SubnetIds": {"Ref": "VpcSubnetIds"}, "SecurityGroupIds": {"Ref": "VpcSecurityGroupIds"}}
    assert outside == {"Ref": "AWS::NoValue"}
    # the status sync reads 1C too; the receiver and the reconciler never do and stay out (no NAT cost for them)
    assert template["Resources"]["StatusSyncFunction"]["Properties"]["VpcConfig"] == vpc_config
    for name in ("WebhookReceiverFunction", "ReconcilerFunction"):
        assert "VpcConfig" not in template["Resources"][name]["Properties"]


def test_endpoints_only_when_asked_for(template: dict[str, Any]) -> None:
    just_subnets = {key: IN_A_VPC[key] for key in ("VpcSubnetIds", "VpcSecurityGroupIds")}
    assert not _deployed(template, just_subnets) & VPC_RESOURCES
    gateway_only = {**just_subnets, "VpcId": IN_A_VPC["VpcId"], "VpcRouteTableIds": IN_A_VPC["VpcRouteTableIds"]}
    assert _deployed(template, gateway_only) & VPC_RESOURCES == {"DynamoDbGatewayEndpoint"}


def test_endpoints_serve_the_services_the_processor_calls(template: dict[str, Any]) -> None:
    services = {
        template["Resources"][name]["Properties"]["ServiceName"]["Fn::Sub"]
        for name in ("DynamoDbGatewayEndpoint", "SqsInterfaceEndpoint", "SecretsManagerInterfaceEndpoint")
    }
    assert services == {
        f"com.amazonaws.${{AWS::Region}}.{service}" for service in ("dynamodb", "sqs", "secretsmanager")
    }
    for name in ("SqsInterfaceEndpoint", "SecretsManagerInterfaceEndpoint"):
        assert template["Resources"][name]["Properties"]["PrivateDnsEnabled"] is True
    [ingress] = template["Resources"]["VpcEndpointSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert (ingress["FromPort"], ingress["ToPort"], ingress["IpProtocol"]) == (443, 443, "tcp")


def test_rules_refuse_a_vpc_without_security_groups(template: dict[str, Any]) -> None:
    rule = template["Rules"]["VpcNeedsSecurityGroups"]
    assert _evaluate(rule["RuleCondition"], template, IN_A_VPC) is True
    [assertion] = rule["Assertions"]
    assert _evaluate(assertion["Assert"], template, IN_A_VPC) is True
    assert _evaluate(assertion["Assert"], template, {"VpcSubnetIds": IN_A_VPC["VpcSubnetIds"]}) is False


def test_translates_with_and_without_a_vpc(template: dict[str, Any]) -> None:
    for parameters in ({}, {key: value.split(",") if "Ids" in key else value for key, value in IN_A_VPC.items()}):
        translated = translate(template, parameters)
        function = translated["Resources"]["InvoiceProcessorFunction"]["Properties"]
        assert function["VpcConfig"]["Fn::If"][0] == "InVpc"


def test_lints_clean_with_vpc_parameter_values(template: dict[str, Any], tmp_path: Path) -> None:
    text = TEMPLATE_PATH.read_text(encoding="utf-8")
    # Rewrite only the parameter defaults, keeping the short-form tags as they are.
    lines = text.splitlines()
    for name, value in IN_A_VPC.items():
        start = lines.index(f"  {name}:")
        default = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("    Default:"))
        lines[default] = f'    Default: "{value}"'
    copy = tmp_path / "template-in-a-vpc.yaml"
    copy.write_text("\n".join(lines) + "\n", encoding="utf-8")
    matches = lint_file(copy, config=ManualArgs(regions=["eu-central-1"]))
    assert [str(match) for match in matches] == []


# ----------------------------------------------------------------------------------------------------------
# The reconciler's schedule


SCHEDULED = [("ReconcilerFunction", "ReconcilerDeadLetterQueue"), ("StatusSyncFunction", "StatusSyncDeadLetterQueue")]


@pytest.mark.parametrize(("function_id", "queue_id"), SCHEDULED)
def test_schedule_retries_then_keeps_undelivered_events(
    template: dict[str, Any], function_id: str, queue_id: str
) -> None:
    function = template["Resources"][function_id]["Properties"]
    sweep = function["Events"]["Sweep"]["Properties"]
    assert sweep["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    retry = sweep["RetryPolicy"]
    assert retry["MaximumRetryAttempts"] >= 1
    assert 60 <= retry["MaximumEventAgeInSeconds"] <= 600  # within one default schedule interval
    config = function["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 0  # the next scheduled run is the retry
    assert config["DestinationConfig"]["OnFailure"] == {"Type": "SQS", "Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}
    queue = template["Resources"][queue_id]["Properties"]
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert queue["SqsManagedSseEnabled"] is True


@pytest.mark.parametrize(("function_id", "queue_id"), SCHEDULED)
def test_only_the_schedules_rule_may_write_undelivered_events(
    template: dict[str, Any], function_id: str, queue_id: str
) -> None:
    policy = template["Resources"][f"{queue_id}Policy"]["Properties"]
    assert policy["Queues"] == [{"Ref": queue_id}]
    [statement] = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [f"{function_id}Sweep", "Arn"]}}}


@pytest.mark.parametrize(("function_id", "queue_id"), SCHEDULED)
def test_a_scheduled_function_may_record_its_failed_runs_and_nothing_more(
    template: dict[str, Any], function_id: str, queue_id: str
) -> None:
    translated = translate(template)
    role = translated["Resources"][f"{function_id}Role"]["Properties"]
    [policy] = [policy for policy in role["Policies"] if "OnFailure" in policy["PolicyName"]]
    [statement] = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    rule = translated["Resources"][f"{function_id}Sweep"]
    [target] = rule["Properties"]["Targets"]
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
