"""`invoice-bridge status / replay / redrive` against the local stack, as `make run` exposes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from invoice_bridge.events import QueueMessage
from invoice_bridge.operator_cli import main
from local.seed import (
    PORTAL_B_APPLICATION_TOKEN,
    PORTAL_B_DOMAIN,
    PORTAL_B_MEMBER_ID,
    PORTAL_DOMAIN,
    PORTAL_MEMBER_ID,
)
from local.stack import LocalStack
from local.webhooks import webhook_body
from tests.integration.test_bridge_end_to_end import drafts_for, drain, post, webhook

PORTAL_A = ("--member-id", PORTAL_MEMBER_ID)  # make run's stack has two portals


@pytest.fixture
def state(stack: LocalStack, tmp_path: Path) -> Path:
    path = tmp_path / "local-stack.json"
    stack.write_state(path)
    return path


def test_status_shows_the_ledger_and_the_1c_document(
    stack: LocalStack, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    post(stack, webhook(1001))
    post(stack, webhook(1005))
    drain(stack)
    [draft] = drafts_for(stack, 1001)

    assert main(["--local", "--state-file", str(state), *PORTAL_A, "status", "--deal", "1001"]) == 0
    created = capsys.readouterr().out
    assert "ledger: CREATED" in created
    assert f"1C: Document_СчетНаОплатуПокупателю {draft['Number']}" in created
    assert "draft, not posted" in created

    assert main(["--local", "--state-file", str(state), *PORTAL_A, "status", "--deal", "1005"]) == 0
    rejected = capsys.readouterr().out
    assert "ledger: REJECTED" in rejected
    assert "7707083894" in rejected
    assert "the ledger records no Document_СчетНаОплатуПокупателю" in rejected  # read by Ref_Key only


def test_replay_of_one_deal_queues_it_and_changes_nothing_for_the_same_content(
    stack: LocalStack, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    post(stack, webhook(1001))
    drain(stack)
    assert main(["--local", "--state-file", str(state), *PORTAL_A, "replay", "--deal", "1001"]) == 0
    assert "queued 1: deal 1001" in capsys.readouterr().out
    assert stack.queued_messages() == 1
    drain(stack)
    assert len(drafts_for(stack, 1001)) == 1


def test_replay_of_a_date_range_queues_the_won_deals_changed_in_it(
    stack: LocalStack, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    post(stack, webhook(1001))
    drain(stack)
    assert (
        main(
            [
                "--local",
                "--state-file",
                str(state),
                *PORTAL_A,
                "replay",
                "--since",
                "2025-03-01",
                "--until",
                "2025-03-31",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "deal 1001" in out
    assert "deal 1004" not in out  # not won


def test_redrive_moves_the_dead_letters_back(
    stack: LocalStack, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stack.resources is not None
    body = QueueMessage(
        member_id=PORTAL_MEMBER_ID, domain="d", entity_type="deal", entity_id=1001, event="X", ts=1
    ).model_dump_json()
    for _ in range(3):
        stack.sqs.send_message(QueueUrl=stack.resources.dead_letter_queue_url, MessageBody=body)

    assert main(["--local", "--state-file", str(state), "redrive"]) == 0
    assert "moved 3 messages" in capsys.readouterr().out
    assert stack.queued_messages() == 3


def test_unknown_portal_is_asked_for(stack: LocalStack, state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--local", "--state-file", str(state), "status", "--deal", "1001"]) == 2
    err = capsys.readouterr().err
    assert "--member-id" in err
    assert PORTAL_B_MEMBER_ID in err  # the configured portals are listed
    assert main(["--local", "--state-file", str(state), "--member-id", "f" * 32, "status", "--deal", "1001"]) == 2


def test_status_of_the_other_portals_deal_with_the_same_id(
    stack: LocalStack, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    post(
        stack,
        webhook_body(1001, token=PORTAL_B_APPLICATION_TOKEN, member_id=PORTAL_B_MEMBER_ID, domain=PORTAL_B_DOMAIN),
    )
    drain(stack)
    assert (
        main(["--local", "--state-file", str(state), "--member-id", PORTAL_B_MEMBER_ID, "status", "--deal", "1001"])
        == 0
    )
    out = capsys.readouterr().out
    assert f"of portal {PORTAL_B_MEMBER_ID} ({PORTAL_B_DOMAIN})" in out
    assert "366000.00" in out
    assert main(["--local", "--state-file", str(state), *PORTAL_A, "status", "--deal", "1001"]) == 0
    assert "ledger: no record" in capsys.readouterr().out


def test_status_shows_the_pin_of_a_first_release_secret(
    stack: LocalStack, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.use_secret(stack.single_portal_secret())
    assert main(["--local", "--state-file", str(state), "status", "--deal", "1001"]) == 2
    assert "not pinned yet" in capsys.readouterr().err
    post(stack, webhook(1001))
    assert main(["--local", "--state-file", str(state), "status", "--deal", "1001"]) == 0
    assert f"pinned to member_id {PORTAL_MEMBER_ID}, domain {PORTAL_DOMAIN}" in capsys.readouterr().out


def test_local_without_a_running_stack_says_to_start_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="start the local stack with `make run` first"):
        main(["--local", "status", "--deal", "1001"])
