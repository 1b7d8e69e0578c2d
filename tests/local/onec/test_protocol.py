"""The 1C sandbox's OData protocol (local.onec.protocol, local.onec.formats): Basic auth, the service root, `$format`,
routing to entity sets and 1C's errors for unknown or unpublished ones."""

from __future__ import annotations

import base64
import re
from urllib.parse import quote

import pytest
import requests

from local.onec.sandbox import OnecSandbox
from local.seed import (
    ONEC_PASSWORD,
    ONEC_USERNAME,
)
from tests.local.onec.calls import JSON, error_of, get


@pytest.mark.parametrize("auth", [None, (ONEC_USERNAME, "wrong"), ("someone", ONEC_PASSWORD)])
def test_wrong_or_missing_credentials_get_401(sandbox: OnecSandbox, auth: tuple[str, str] | None) -> None:
    response = requests.get(sandbox.url + "Catalog_Валюты", params=JSON, auth=auth, timeout=10)

    assert response.headers["WWW-Authenticate"] == 'Basic realm="1C"'
    assert error_of(response)[0] == 401
    assert "value" not in response.json()


def test_utf8_credentials_are_accepted() -> None:
    with OnecSandbox(username="Администратор", password="пароль") as cyrillic:
        token = "Basic " + base64.b64encode("Администратор:пароль".encode()).decode()
        response = requests.get(
            cyrillic.url + "Catalog_Валюты", params=JSON, headers={"Authorization": token}, timeout=10
        )

    assert response.status_code == 200


def test_url_is_the_service_root(sandbox: OnecSandbox) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/bp30/odata/standard\.odata/", sandbox.url)


def test_an_unknown_format_is_refused(http: requests.Session, sandbox: OnecSandbox) -> None:
    # Atom by default and JSON by Accept are in test_strictness.py
    csv = http.get(sandbox.url + "Catalog_Валюты", params={"$format": "csv"}, timeout=10)

    assert error_of(csv)[:2] == (400, "3")


@pytest.mark.parametrize("entity_set", ["Catalog_Кассы", "Document_ПоступлениеТоваровУслуг"])
def test_unknown_entity_set_is_404_code_8(http: requests.Session, sandbox: OnecSandbox, entity_set: str) -> None:
    status, code, message = error_of(get(http, sandbox, entity_set))

    assert (status, code) == (404, "8")
    assert entity_set in message


def test_unpublished_entity_set_is_404_code_8(http: requests.Session) -> None:
    with OnecSandbox(unpublished=frozenset({"Catalog_ДоговорыКонтрагентов"})) as narrowed:
        hidden = get(http, narrowed, "Catalog_ДоговорыКонтрагентов")
        visible = get(http, narrowed, "Catalog_Контрагенты")

    assert error_of(hidden)[:2] == (404, "8")
    assert "Catalog_ДоговорыКонтрагентов" in error_of(hidden)[2]
    assert visible.status_code == 200


def test_cyrillic_path_is_percent_decoded(http: requests.Session, sandbox: OnecSandbox) -> None:
    encoded = sandbox.url + quote("Catalog_Валюты")
    response = http.get(encoded, params=JSON, timeout=10)

    assert response.status_code == 200
    assert response.json()["value"][0]["Code"] == "643"
