"""serverless-rules (cfn-lint-serverless) on template.yaml: clean, but for the findings named below, each with
the reason it does not apply. An entry that no longer matches a finding fails too, so the list stays true.
ES1007 and ES4000 (the schedule's on-failure destination and DLQ) are met by the template, not allowed."""

from __future__ import annotations

from cfnlint.api import ManualArgs, lint_file

from tests.infrastructure.template_support import TEMPLATE_PATH

SERVERLESS_RULES_ALLOW_LIST: dict[tuple[str, str], str] = {
    ("WS1004", "WebhookReceiverFunction"): (
        "the function's LoggingConfig names its own log group, which has RetentionInDays (test_template.py, "
        "test_every_function_logs_to_its_own_group_with_retention); the rule only knows /aws/lambda/<name> groups"
    ),
    ("WS1004", "InvoiceProcessorFunction"): "as WebhookReceiverFunction: its own log group with retention",
    ("WS1004", "ReconcilerFunction"): "as WebhookReceiverFunction: its own log group with retention",
    ("WS1004", "StatusSyncFunction"): "as WebhookReceiverFunction: its own log group with retention",
    ("ES6000", "InvoiceDeadLetterQueue"): (
        "it is the dead-letter queue (InvoiceQueue's RedrivePolicy targets it): redriving a DLQ further would "
        "lose the messages the runbook tells the operator to inspect and redrive"
    ),
    ("ES6000", "ReconcilerDeadLetterQueue"): (
        "it is the dead-letter queue of the reconciler's schedule and failed runs; nothing consumes it, so it "
        "has nothing to redrive"
    ),
    ("ES6000", "StatusSyncDeadLetterQueue"): "as ReconcilerDeadLetterQueue, for the status sync's schedule and runs",
    ("ES7000", "AlarmEmailSubscription"): (
        "an alarm e-mail that cannot be delivered has no reader in a DLQ either; the alarm's state and history "
        "stay in CloudWatch"
    ),
}


def test_serverless_rules_find_nothing_beyond_the_allow_list() -> None:
    matches = lint_file(
        TEMPLATE_PATH,
        config=ManualArgs(regions=["eu-central-1"], append_rules=["cfn_lint_serverless.rules"]),
    )
    findings = {(match.rule.id, str(match.path[1])): str(match) for match in matches}
    unexpected = {key: text for key, text in findings.items() if key not in SERVERLESS_RULES_ALLOW_LIST}
    assert unexpected == {}
    assert set(SERVERLESS_RULES_ALLOW_LIST) <= set(findings), "allow-list entries that no longer apply"
