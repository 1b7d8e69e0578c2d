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
