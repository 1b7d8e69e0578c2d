"""Between the deploy and the filled-in secret (issue 12, item 6), through the real handlers.

While the secret holds the template's placeholders, is invalid or is no JSON, the receiver answers 503 with a
body that says so, queues nothing, counts every refusal towards SetupFailures (the set-up alarm) and logs the
cause once per cold start. Bitrix24 never resends those webhooks: once the secret is right, the reconciler
queues the deals won meanwhile and they get their drafts.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from typing import Any

import boto3
import pytest

from invoice_bridge.setup_state import SETUP_UNFINISHED_BODY
from local.aws.lambda_runtime import ROOT
from local.aws.template_resources import load_template
from local.seed import DEALS
from local.stack import LocalStack, forget_warm_state
from tests.integration.log_capture import bridge_log
from tests.integration.test_bridge_end_to_end import drafts_for, drain, post, webhook

SETUP_LOG = "the secret is not usable: webhooks are answered 503 until it is fixed (logged once per cold start)"


def the_deploys_placeholders() -> dict[str, Any]:
    secret = load_template(ROOT / "template.yaml")["Resources"]["BridgeSecret"]["Properties"]["SecretString"]
    placeholders: dict[str, Any] = json.loads(secret)
    return placeholders


def test_placeholders_are_a_503_and_the_reconciler_makes_up_for_it(stack: LocalStack, emitted: Counter[str]) -> None:
    stack.use_secret(the_deploys_placeholders())  # just deployed: nothing filled in yet
    template = next(deal for deal in DEALS if deal.id == 1001)
    won_meanwhile = dataclasses.replace(template, id=40002, title="Won before the secret was filled in")
    stack.bitrix.set_deal(won_meanwhile)

    with bridge_log() as log:
        replies = [post(stack, webhook(40002)) for _ in range(3)]

    assert [reply.status_code for reply in replies] == [503, 503, 503]
    assert replies[0].json() == SETUP_UNFINISHED_BODY
    assert "not set up yet" in replies[0].json()["error"]
    assert stack.queued_messages() == 0
    assert emitted["SetupFailures"] == 3
    assert emitted["Webhook503"] == 3
    causes = [line for line in log.lines() if line["message"] == SETUP_LOG]
    assert len(causes) == 1  # once per cold start, not once per webhook
    assert "placeholder" in causes[0]["error"]

    stack.use_secret(stack.portals_secret())  # the administrator fills it in
    report = stack.run_reconciler()
    drain(stack)

    assert report["queued"] >= 1
    assert len(drafts_for(stack, 40002)) == 1
    assert post(stack, webhook(1001)).status_code == 200  # and webhooks are queued again


@pytest.mark.parametrize(
    ("secret_string", "cause"),
    [
        ('{"onec_username": "x"}', "is not usable"),
        ("not json at all", "is not a JSON object"),
    ],
)
def test_an_invalid_secret_is_a_503_too(
    stack: LocalStack, emitted: Counter[str], secret_string: str, cause: str
) -> None:
    assert stack.resources is not None
    boto3.client("secretsmanager").put_secret_value(SecretId=stack.resources.secret_id, SecretString=secret_string)

    forget_warm_state()
    with bridge_log() as log:
        reply = post(stack, webhook(1001))
    assert reply.status_code == 503
    assert reply.json() == SETUP_UNFINISHED_BODY
    assert stack.queued_messages() == 0
    assert emitted["SetupFailures"] == 1
    [line] = [line for line in log.lines() if line["message"] == SETUP_LOG]
    assert cause in line["error"]
