"""The webhook path and authorisation, the request body, unknown methods."""

from __future__ import annotations

import pytest
import requests

from local.bitrix24.sandbox import Bitrix24Sandbox, RequestLogEntry
from local.seed import WEBHOOK_CODE, WEBHOOK_USER_ID
from tests.local.bitrix24.calls import TIMEOUT, call


def test_webhook_url_shape(sandbox: Bitrix24Sandbox) -> None:
    assert sandbox.webhook_url.startswith("http://127.0.0.1:")
    assert sandbox.webhook_url.endswith(f"/rest/{WEBHOOK_USER_ID}/{WEBHOOK_CODE}/")


@pytest.mark.parametrize(("user", "code"), [(WEBHOOK_USER_ID, "wrongcode"), ("2", WEBHOOK_CODE)])
def test_wrong_webhook_credentials_give_401(sandbox: Bitrix24Sandbox, user: str, code: str) -> None:
    url = sandbox.webhook_url.replace(f"/rest/{WEBHOOK_USER_ID}/{WEBHOOK_CODE}/", f"/rest/{user}/{code}/")
    response = requests.post(url + "crm.deal.get", json={"id": 1001}, timeout=TIMEOUT)
    assert response.status_code == 401
    assert response.json() == {"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"}
    assert sandbox.request_log[-1] == RequestLogEntry("crm.deal.get", (), 401, "POST")


def test_json_suffix_and_unknown_method(sandbox: Bitrix24Sandbox) -> None:
    assert call(sandbox, "crm.deal.get.json", {"id": 1001}).json()["result"]["ID"] == "1001"
    response = call(sandbox, "crm.deal.nosuch", {"id": 1001})
    assert response.status_code == 404
    assert response.json() == {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}


def test_bad_json_body_is_a_400(sandbox: Bitrix24Sandbox) -> None:
    response = requests.post(
        sandbox.webhook_url + "crm.deal.get",
        data="{not json",
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "INVALID_REQUEST"
