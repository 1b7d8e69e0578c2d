"""`invoice-bridge-doctor --stack`: which network path the deployed processor uses, and whether 1C answers the
processor from there (issue 12, item 5). The probe runs through the real processor handler on the local stack;
CloudFormation and Lambda are stand-ins that hand the probe to that handler."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace
from typing import Any

import pytest

from invoice_bridge import doctor
from local.aws.lambda_runtime import LambdaContext, load_handler
from local.seed import ONEC_USERNAME
from local.stack import LocalStack
from tests.integration.test_unfinished_setup import the_deploys_placeholders

PROBE = {"invoice_bridge_probe": "onec"}
IN_A_VPC = {
    "VpcId": "vpc-0123456789abcdef0",
    "SubnetIds": ["subnet-0a1b2c3d4e5f60718"],
    "SecurityGroupIds": ["sg-0123456789abcdef0"],
}


def probe(stack: LocalStack) -> Any:
    handler = load_handler("invoice_processor")
    return handler(PROBE, LambdaContext("InvoiceProcessorFunction", timeout_seconds=120))


def test_the_processor_says_1c_answers(stack: LocalStack) -> None:
    assert probe(stack) == {"findings": [{"ok": True, "text": f"1C answers at {stack.onec.url} as {ONEC_USERNAME}"}]}
    assert stack.onec.documents() == []
    assert stack.queued_messages() == 0


def test_the_processor_says_1c_refuses_it(stack: LocalStack) -> None:
    stack.onec.set_credentials(ONEC_USERNAME, "changed-in-1c")
    [finding] = probe(stack)["findings"]
    assert finding["ok"] is False
    assert finding["text"].startswith(f"1C refused {ONEC_USERNAME}")


def test_the_processor_says_its_secret_is_not_filled_in(stack: LocalStack) -> None:
    stack.use_secret(the_deploys_placeholders())
    [finding] = probe(stack)["findings"]
    assert finding["ok"] is False
    assert "placeholder" in finding["text"]


class _CloudFormation:
    def describe_stack_resource(self, StackName: str, LogicalResourceId: str) -> dict[str, Any]:
        assert (StackName, LogicalResourceId) == ("invoice-bridge", "InvoiceProcessorFunction")
        return {"StackResourceDetail": {"PhysicalResourceId": "invoice-bridge-InvoiceProcessorFunction-abc"}}


class _Lambda:
    """Hands the probe to the local processor, as Lambda would hand it to the deployed one."""

    def __init__(self, stack: LocalStack, vpc: dict[str, Any] | None) -> None:
        self._stack = stack
        self._vpc = vpc
        self.invoked: list[dict[str, Any]] = []

    def get_function_configuration(self, FunctionName: str) -> dict[str, Any]:
        return {"FunctionName": FunctionName, **({"VpcConfig": self._vpc} if self._vpc else {})}

    def invoke(self, FunctionName: str, Payload: bytes) -> dict[str, Any]:
        event = json.loads(Payload)
        self.invoked.append(event)
        result = load_handler("invoice_processor")(event, LambdaContext(FunctionName, timeout_seconds=120))
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(result).encode())}


@pytest.mark.parametrize("vpc", [None, IN_A_VPC])
def test_doctor_reports_the_path_and_what_the_processor_found(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], vpc: dict[str, Any] | None
) -> None:
    fake_lambda = _Lambda(stack, vpc)
    clients: dict[str, Any] = {"cloudformation": _CloudFormation(), "lambda": fake_lambda}
    monkeypatch.setattr(doctor, "boto3", SimpleNamespace(client=lambda service, region_name=None: clients[service]))

    assert doctor.main(["--stack", "invoice-bridge"]) == 0

    output = capsys.readouterr().out
    assert fake_lambda.invoked == [PROBE]
    if vpc is None:
        assert "network path: no VPC" in output
    else:
        assert "network path: the processor runs in vpc-0123456789abcdef0 (subnets subnet-0a1b2c3d4e5f60718" in output
    assert f"from the processor: 1C answers at {stack.onec.url}" in output


def test_doctor_says_so_when_the_probe_fails(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class _Failing(_Lambda):
        def invoke(self, FunctionName: str, Payload: bytes) -> dict[str, Any]:
            failure = {"errorMessage": "Task timed out after 120.00 seconds", "errorType": "Sandbox.Timedout"}
            return {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": io.BytesIO(json.dumps(failure).encode()),
            }

    clients: dict[str, Any] = {"cloudformation": _CloudFormation(), "lambda": _Failing(stack, IN_A_VPC)}
    monkeypatch.setattr(doctor, "boto3", SimpleNamespace(client=lambda service, region_name=None: clients[service]))
    assert doctor.main(["--stack", "invoice-bridge"]) == 1
    assert "the processor's probe failed: Task timed out" in capsys.readouterr().out
