"""A warm processor's log lines name the record they are about, and only that one (issue 12, item 7).

Every line written while a queue record is handled carries its portal, entity and ledger key; none of those
keys survives into the next record of the batch, the batch's own closing line, or the next invocation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from invoice_bridge.observability import RECORD_KEYS, logger, record_log_keys
from local.seed import PORTAL_B_APPLICATION_TOKEN, PORTAL_B_DOMAIN, PORTAL_B_MEMBER_ID, PORTAL_DOMAIN, PORTAL_MEMBER_ID
from local.stack import LocalStack
from local.webhooks import webhook_body
from tests.integration.log_capture import bridge_log
from tests.integration.test_bridge_end_to_end import post, webhook

PROCESSOR = "InvoiceProcessorFunction"
PORTAL_B_1001 = webhook_body(
    1001, token=PORTAL_B_APPLICATION_TOKEN, member_id=PORTAL_B_MEMBER_ID, domain=PORTAL_B_DOMAIN
)


@pytest.fixture
def info_stack() -> Iterator[LocalStack]:
    local = LocalStack(log_level="INFO").start(poll=False)
    try:
        yield local
    finally:
        local.stop()


def _processor_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("function_name") == PROCESSOR]


def _assert_keys_agree(line: dict[str, Any]) -> None:
    member_id, entity_type, entity_id = line["ledger_key"].split("#")
    assert line["entity"] == f"{entity_type} {entity_id}", line
    assert line["portal"] == {PORTAL_MEMBER_ID: PORTAL_DOMAIN, PORTAL_B_MEMBER_ID: PORTAL_B_DOMAIN}[member_id], line


def test_each_record_line_names_its_own_record_and_nothing_leaks(info_stack: LocalStack) -> None:
    stack = info_stack
    with bridge_log() as log:
        # one batch: a created draft, a rejected deal (broken INN), and portal B's deal with the same id as A's
        for body in (webhook(1001), webhook(1005), PORTAL_B_1001):
            assert post(stack, body).status_code == 200
        assert stack.event_source.poll_once(wait_seconds=1) == 3
        # the same warm function, next invocation: another deal, after an 1C failure it retries
        stack.onec.fail_next(1, status=500)
        assert post(stack, webhook(1002)).status_code == 200
        assert stack.event_source.poll_once(wait_seconds=1) == 1

    lines = _processor_lines(log.lines())
    assert lines, "the processor's lines are captured"
    handled = [line for line in lines if line["message"] in ("message handled", "will retry")]
    assert sorted(line["ledger_key"] for line in handled) == sorted(
        [
            f"{PORTAL_MEMBER_ID}#deal#1001",
            f"{PORTAL_MEMBER_ID}#deal#1005",
            f"{PORTAL_B_MEMBER_ID}#deal#1001",
            f"{PORTAL_MEMBER_ID}#deal#1002",
        ]
    )
    for line in lines:
        present = [key for key in RECORD_KEYS if key in line]
        if present:
            assert present == list(RECORD_KEYS), line  # all three or none
            _assert_keys_agree(line)
    # lines about no record: the batch's summary and whatever precedes the first record carry no record's keys
    batch_lines = [line for line in lines if line["message"] == "batch done"]
    assert len(batch_lines) == 2
    for line in batch_lines:
        assert not set(RECORD_KEYS) & set(line), line
    # the second invocation's lines name deal 1002 only
    second = lines[lines.index(batch_lines[0]) + 1 :]
    assert {line["ledger_key"] for line in second if "ledger_key" in line} == {f"{PORTAL_MEMBER_ID}#deal#1002"}


def _fail_inside_a_record() -> None:
    with record_log_keys(portal="p.bitrix24.test", entity="deal 7", ledger_key="m#deal#7"):
        logger.info("inside")
        raise RuntimeError("boom")


def test_the_keys_go_even_when_the_record_fails() -> None:
    with bridge_log() as log:
        with pytest.raises(RuntimeError):
            _fail_inside_a_record()
        logger.info("after")
    inside, after = log.lines()
    assert (inside["portal"], inside["entity"], inside["ledger_key"]) == ("p.bitrix24.test", "deal 7", "m#deal#7")
    assert not set(RECORD_KEYS) & set(after)
