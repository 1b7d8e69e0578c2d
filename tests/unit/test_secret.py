from collections.abc import Mapping

import pytest

from invoice_bridge.secret import SecretConfigurationError, parse_secret

GOOD = {
    "bitrix24_webhook_url": "https://portal.bitrix24.ru/rest/1/abc123/",
    "bitrix24_application_tokens": ["t1"],
    "onec_odata_url": "https://1c.example.ru/bp30/odata/standard.odata/",
    "onec_username": "odata",
    "onec_password": "very-secret-password",
}


def test_good_secret_parses() -> None:
    secret = parse_secret(GOOD, "bridge")
    assert secret.onec_password.get_secret_value() == "very-secret-password"
    assert "very-secret-password" not in repr(secret)


def test_bad_secret_names_keys_but_never_values() -> None:
    bad = {**GOOD, "bitrix24_webhook_url": "https://portal.bitrix24.ru/rest/1/realcode9f", "onec_password": 5}
    del bad["onec_username"]
    with pytest.raises(SecretConfigurationError) as caught:
        parse_secret(bad, "stack/bridge")
    message = str(caught.value)
    assert "bitrix24_webhook_url" in message
    assert "onec_username" in message
    assert "stack/bridge" in message
    assert "realcode9f" not in message


def test_empty_token_list_is_refused() -> None:
    with pytest.raises(SecretConfigurationError, match="bitrix24_application_tokens"):
        parse_secret({**GOOD, "bitrix24_application_tokens": []}, "s")


def test_placeholder_secret_says_to_fill_it() -> None:
    with pytest.raises(SecretConfigurationError, match="placeholder values"):
        parse_secret({**GOOD, "onec_password": "CHANGE_ME"}, "s")


# ---- the portals form (DESIGN §4) ------------------------------------------------------------------------

SHARED_1C: dict[str, object] = {k: GOOD[k] for k in ("onec_odata_url", "onec_username", "onec_password")}


def portal(index: int, **changes: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "member_id": f"{index:032x}",
        "domain": f"portal{index}.bitrix24.ru",
        "webhook_url": f"https://portal{index}.bitrix24.ru/rest/1/code{index}secret/",
        "application_tokens": [f"token-{index}-secret"],
    }
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


def refusal(raw: Mapping[str, object]) -> str:
    with pytest.raises(SecretConfigurationError) as caught:
        parse_secret(raw, "stack/bridge")
    return str(caught.value)


def test_portals_form_parses_with_an_own_1c_for_one_portal() -> None:
    own = {"odata_url": "https://1c-b.example.ru/odata/", "username": "b", "password": "pw-b", "organization_inn": ""}
    secret = parse_secret({"portals": [portal(0), portal(1, onec=own)], **SHARED_1C}, "s")
    assert not secret.single_portal
    assert [p.member_id for p in secret.portals] == [f"{0:032x}", f"{1:032x}"]
    assert secret.portals[0].onec is None
    assert secret.portals[1].onec is not None
    assert secret.portals[1].onec.password.get_secret_value() == "pw-b"
    assert "pw-b" not in repr(secret)


def test_first_release_form_is_one_portal_awaiting_its_pin() -> None:
    secret = parse_secret(GOOD, "s")
    assert secret.single_portal
    assert secret.portals == ()


@pytest.mark.parametrize(
    ("change", "where", "secret_values"),
    [
        (
            {"webhook_url": "https://p.bitrix24.ru/rest/1/leakedcode"},
            "portals[1] (member_id {mid}).webhook_url",
            ["leakedcode"],
        ),
        ({"application_tokens": []}, "portals[1] (member_id {mid}).application_tokens", []),
        (
            {"application_tokens": ["", "tok-secret-2"]},
            "portals[1] (member_id {mid}).application_tokens",
            ["tok-secret-2"],
        ),
        ({"member_id": "a|b#c"}, "portals[1].member_id", ["a|b#c"]),
        ({"member_id": None}, "portals[1].member_id: Field required", []),
        ({"domain": "bad domain!"}, "portals[1] (member_id {mid}).domain", ["bad domain!"]),
        (
            {"onec": {"odata_url": "not-a-url-secretish", "username": "u"}},
            "portals[1] (member_id {mid}).onec.odata_url",
            ["not-a-url-secretish"],
        ),
        ({"onec": {"odata_url": "https://x/", "username": "u"}}, "portals[1] (member_id {mid}).onec.password", []),
        (
            {"onec": {"odata_url": "https://x/", "username": "u", "password": "p", "organization_inn": "12"}},
            "onec.organization_inn",
            [],
        ),
    ],
)
def test_a_bad_portal_entry_is_named_by_index_member_id_and_key_never_by_value(
    change: dict[str, object], where: str, secret_values: list[str]
) -> None:
    message = refusal({"portals": [portal(0), portal(1, **change)], **SHARED_1C})
    assert where.format(mid=f"{1:032x}") in message
    assert "expected" in message  # says what the key should hold
    for value in [*secret_values, "token-0-secret", "code0secret", "very-secret-password"]:
        assert value not in message


@pytest.mark.parametrize(
    ("second", "key"),
    [
        (portal(1, member_id=f"{0:032x}"), "member_id"),
        (portal(1, domain="PORTAL0.bitrix24.ru"), "domain"),
        (portal(1, application_tokens=["token-0-secret"]), "application_tokens"),
    ],
)
def test_two_portals_sharing_an_identity_or_a_token_are_refused(second: dict[str, object], key: str) -> None:
    message = refusal({"portals": [portal(0), second], **SHARED_1C})
    assert f"portals[1] (member_id {second['member_id']}).{key} repeats" in message
    assert "portals[0]" in message
    assert "token-0-secret" not in message


def test_both_forms_at_once_or_neither_are_refused() -> None:
    both = refusal({"portals": [portal(0)], **GOOD})
    assert "not both" in both
    assert "bitrix24_webhook_url" in both
    neither = refusal(SHARED_1C)
    assert "no portal" in neither
    half = refusal({**SHARED_1C, "bitrix24_webhook_url": GOOD["bitrix24_webhook_url"]})
    assert "bitrix24_application_tokens is missing" in half


def test_portals_must_be_a_list_of_objects() -> None:
    message = refusal({"portals": ["https://p.bitrix24.ru/rest/1/leakedcode/"], **SHARED_1C})
    assert "portals[0]" in message
    assert "leakedcode" not in message
