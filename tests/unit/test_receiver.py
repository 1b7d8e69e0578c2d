from urllib.parse import urlencode

import pytest

from invoice_bridge.events import EntityType, QueueMessage
from invoice_bridge.receiver import receive_webhook, token_is_known

TOKENS = ["token-a", "token-b"]


def body(**overrides: str) -> bytes:
    fields = {
        "event": "ONCRMDEALUPDATE",
        "data[FIELDS][ID]": "7405",
        "ts": "1766047124",
        "auth[domain]": "portal.bitrix24.ru",
        "auth[member_id]": "d897063e1ce7c5eb9f04b9751eef5915",
        "auth[application_token]": "token-b",
    }
    fields.update(overrides)
    return urlencode({k: v for k, v in fields.items() if v != "<drop>"}).encode()


def receive(raw: bytes) -> tuple[int, dict[str, object], list[QueueMessage]]:
    queued: list[QueueMessage] = []
    reply = receive_webhook(raw, known_tokens=lambda: TOKENS, enqueue=queued.append, max_body_bytes=4096)
    return reply.status_code, reply.body, queued


def test_deal_event_is_queued_with_portal_and_id() -> None:
    status, _, queued = receive(body())
    assert status == 200
    assert queued == [
        QueueMessage(
            member_id="d897063e1ce7c5eb9f04b9751eef5915",
            domain="portal.bitrix24.ru",
            entity_type=EntityType.DEAL,
            entity_id=7405,
            event="ONCRMDEALUPDATE",
            ts=1766047124,
        )
    ]


def test_new_invoice_event_is_queued_and_other_smart_processes_are_not() -> None:
    _, _, invoice = receive(body(event="ONCRMDYNAMICITEMADD", **{"data[FIELDS][ENTITY_TYPE_ID]": "31"}))
    assert [m.entity_type for m in invoice] == [EntityType.INVOICE]
    status, reply, other = receive(body(event="ONCRMDYNAMICITEMADD", **{"data[FIELDS][ENTITY_TYPE_ID]": "1220"}))
    assert (status, reply["status"], other) == (200, "ignored", [])


@pytest.mark.parametrize("token", ["", "token-c", "token-b ", "TOKEN-B", "<drop>"])
def test_unknown_or_missing_token_is_401_and_nothing_queued(token: str) -> None:
    status, _, queued = receive(body(**{"auth[application_token]": token}))
    assert (status, queued) == (401, [])


def test_token_is_checked_before_the_fields() -> None:
    status, _, _ = receive(body(**{"auth[application_token]": "wrong", "data[FIELDS][ID]": "x"}))
    assert status == 401


def test_missing_id_is_400_naming_the_field() -> None:
    status, reply, queued = receive(body(**{"data[FIELDS][ID]": "<drop>"}))
    assert (status, queued) == (400, [])
    assert "fields: data;" in str(reply["error"])
    assert "data[FIELDS][ID]" in str(reply["error"])


def test_malformed_id_is_named_in_bracket_form() -> None:
    status, reply, _ = receive(body(**{"data[FIELDS][ID]": "seven"}))
    assert status == 400
    assert "fields: data[FIELDS][ID];" in str(reply["error"])


def test_oversized_body_is_413_before_parsing() -> None:
    status, reply, _ = receive(b"x" * 5000)
    assert status == 413
    assert "limit is 4096" in str(reply["error"])


def test_non_utf8_body_is_400() -> None:
    status, _, _ = receive(b"event=\xff\xfe")
    assert status == 400


def test_token_is_known_needs_a_non_empty_match() -> None:
    assert token_is_known("a", ["b", "a"])
    assert not token_is_known("", [""])
    assert not token_is_known("a", [])
