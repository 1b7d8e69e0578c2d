"""Does 1C answer from where the processor runs? (docs/RUNBOOK.md, "Network path to 1C")

`invoice-bridge-doctor --stack NAME` reads the deployed processor's network configuration (in a VPC or not) and
invokes the processor with a probe event instead of an SQS batch. The processor then reads $metadata from each 1C
base its secret names, from its own subnets and addresses, and answers one finding per base. The probe changes
nothing: no ledger, no queue, no Bitrix24.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities import parameters

from invoice_bridge.config import processor_settings
from invoice_bridge.observability import metrics
from invoice_bridge.secret import OnecConnection, SecretConfigurationError, load_secret

if TYPE_CHECKING:
    from invoice_bridge.doctor import Finding

PROBE_KEY = "invoice_bridge_probe"
PROBE_ONEC = "onec"
PROCESSOR_LOGICAL_ID = "InvoiceProcessorFunction"


def is_probe(event: dict[str, Any]) -> bool:
    return event.get(PROBE_KEY) == PROBE_ONEC


def probe_onec() -> dict[str, Any]:
    """Runs inside the processor: one finding per 1C base of the secret. The doctor's checks are imported here,
    by the rare probe, not by every cold start of the processor (they bring the status sync's set-up checks)."""
    from invoice_bridge.doctor import check_onec_answers

    metrics.add_metric(name="NetworkProbes", unit="Count", value=1)
    settings = processor_settings()
    try:
        secret = load_secret(settings.bridge_secret_id, settings.secret_max_age_seconds)
    except (SecretConfigurationError, parameters.exceptions.GetParameterError) as exc:
        return {"findings": [{"ok": False, "text": str(exc)}]}
    connections: list[OnecConnection] = [secret.shared_onec]
    for portal in secret.portals:
        if portal.onec is not None and portal.onec not in connections:
            connections.append(portal.onec)
    findings = [check_onec_answers(connection, settings.http_timeout_seconds) for connection in connections]
    return {"findings": [{"ok": finding.ok, "text": finding.text} for finding in findings]}


def network_findings(cloudformation: Any, lambda_client: Any, stack: str) -> list[Finding]:
    """From the operator's machine: which path the deployed processor uses, and what it finds from there."""
    from invoice_bridge.doctor import Finding

    function = cloudformation.describe_stack_resource(StackName=stack, LogicalResourceId=PROCESSOR_LOGICAL_ID)[
        "StackResourceDetail"
    ]["PhysicalResourceId"]
    vpc = lambda_client.get_function_configuration(FunctionName=function).get("VpcConfig") or {}
    subnets = vpc.get("SubnetIds") or []
    if subnets:
        path = Finding(
            True,
            f"network path: the processor runs in {vpc.get('VpcId', 'a VPC')} (subnets {', '.join(subnets)}; "
            f"security groups {', '.join(vpc.get('SecurityGroupIds') or [])}): 1C is reached through the NAT "
            "gateway's fixed address or a VPN (RUNBOOK, 'Network path to 1C')",
        )
    else:
        path = Finding(
            True,
            "network path: no VPC: the processor calls 1C over the internet from changing AWS addresses, so 1C "
            "cannot allow-list it; for an on-premises 1C set VpcSubnetIds (RUNBOOK, 'Network path to 1C')",
        )
    answer = lambda_client.invoke(FunctionName=function, Payload=json.dumps({PROBE_KEY: PROBE_ONEC}).encode())
    payload = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError") or not isinstance(payload, dict):
        problem = payload.get("errorMessage") if isinstance(payload, dict) else payload
        return [path, Finding(False, f"the processor's probe failed: {problem}")]
    return [path] + [
        Finding(bool(item["ok"]), f"from the processor: {item['text']}") for item in payload.get("findings", [])
    ]
