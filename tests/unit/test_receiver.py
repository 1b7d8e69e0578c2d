import base64
from dataclasses import replace
from urllib.parse import urlencode

import pytest
from pydantic import SecretStr

from invoice_bridge.events import EntityType, QueueMessage
from invoice_bridge.portals import SINGLE_PORTAL, Portal, select_portal
from invoice_bridge.receiver import receive_event_body, receive_webhook
from invoice_bridge.secret import OnecConnection

ONEC = OnecConnection(odata_url="https://1c.example.ru/odata/", username="u", password=SecretStr("p"))
PORTAL = Portal(
    name="portals[0]",
    member_id="d897063e1ce7c5eb9f04b9751eef5915",
    domain="portal.bitrix24.ru",
    webhook_url="https://portal.bitrix24.ru/rest/1/code/",
    application_tokens=(SecretStr("token-a"), SecretStr("token-b")),
    onec=ONEC,
)
OTHER = Portal(
    name="portals[1]",
    member_id="0123456789abcdef0123456789abcdef",
    domain="other.bitrix24.ru",
    webhook_url="https://other.bitrix24.ru/rest/1/code/",
    application_tokens=(SecretStr("token-other"),),
    onec=ONEC,
)


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


def receive(
    raw: bytes, portals: tuple[Portal, ...] = (PORTAL, OTHER), pins: list[tuple[str, str]] | None = None
) -> tuple[int, dict[str, object], list[QueueMessage]]:
    queued: list[QueueMessage] = []

    def pin(portal: Portal, member_id: str, domain: str) -> Portal:
        assert pins is not None, "only the single portal awaits a pin"
        pins.append((member_id, domain))
        first = pins[0]
        return replace(portal, member_id=first[0], domain=first[1].lower())

    reply = receive_webhook(raw, portals=lambda: portals, pin=pin, enqueue=queued.append, max_body_bytes=4096)
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


def test_the_token_selects_its_portal_and_needs_a_non_empty_match() -> None:
    assert select_portal("token-other", (PORTAL, OTHER)) is OTHER
    assert select_portal("token-a", (PORTAL, OTHER)) is PORTAL
    assert select_portal("", (replace(PORTAL, application_tokens=(SecretStr(""),)),)) is None
    assert select_portal("token-a", ()) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("auth[member_id]", OTHER.member_id), ("auth[domain]", OTHER.domain), ("auth[member_id]", "invented")],
)
def test_a_token_used_for_another_portal_is_403_naming_the_field(field: str, value: str) -> None:
    status, reply, queued = receive(body(**{field: value}))
    assert (status, queued) == (403, [])
    assert field in str(reply["error"])
    assert "token-b" not in str(reply["error"])


def test_the_queued_portal_is_the_configured_one() -> None:
    _, _, queued = receive(body(**{"auth[domain]": "Portal.Bitrix24.RU"}))
    assert [(m.member_id, m.domain) for m in queued] == [(PORTAL.member_id, PORTAL.domain)]


def test_the_single_portal_is_pinned_by_its_first_event_then_refuses_another() -> None:
    single = replace(PORTAL, name=SINGLE_PORTAL, member_id="", domain="", pinned=True)
    pins: list[tuple[str, str]] = []
    first = receive(body(), portals=(single,), pins=pins)
    assert (first[0], [m.member_id for m in first[2]]) == (200, [PORTAL.member_id])
    other = receive(body(**{"auth[member_id]": "invented"}), portals=(single,), pins=pins)
    assert (other[0], other[2]) == (403, [])
    assert pins == [(PORTAL.member_id, PORTAL.domain), ("invented", PORTAL.domain)]


def test_base64_bodies_are_decoded_and_invalid_base64_is_400() -> None:
    queued: list[QueueMessage] = []

    def send(text: str, encoded: bool) -> tuple[int, dict[str, object]]:
        reply = receive_event_body(
            text,
            base64_encoded=encoded,
            portals=lambda: (PORTAL, OTHER),
            pin=lambda portal, _member_id, _domain: portal,
            enqueue=queued.append,
            max_body_bytes=4096,
        )
        return reply.status_code, reply.body

    assert send(base64.b64encode(body()).decode(), True)[0] == 200
    assert send(body().decode(), False)[0] == 200
    status, reply = send("event=ONCRMDEALUPDATE&data[FIELDS][ID]=1", True)
    assert status == 400
    assert "base64" in str(reply["error"])
    assert send("QUJ", True)[0] == 400  # incomplete
    assert send("A" * 20000, True)[0] == 413  # too large before decoding
    assert len(queued) == 2
