"""The 1C sandbox's controls for tests (local.onec.sandbox): the request log and copies of the stored documents."""

from __future__ import annotations

import requests

from local.onec.sandbox import OnecSandbox
from local.seed import (
    ORGANIZATION_KEY,
)
from tests.local.onec.calls import JSON, get, invoice, post, unique_comment


def test_request_log_records_decoded_requests(http: requests.Session, sandbox: OnecSandbox) -> None:
    sandbox.reset_log()
    flt = "ИНН eq '7707083893'"

    get(http, sandbox, "Catalog_Контрагенты", **{"$filter": flt})
    get(http, sandbox, f"Catalog_Организации(guid'{ORGANIZATION_KEY}')")
    requests.get(sandbox.url + "Catalog_Валюты", params=JSON, timeout=10)

    first, second, third = sandbox.request_log
    assert (first.method, first.entity_set, first.query, first.status) == (
        "GET",
        "Catalog_Контрагенты",
        {"$format": "json", "$filter": flt},
        200,
    )
    assert (second.entity_set, second.key, second.status) == ("Catalog_Организации", ORGANIZATION_KEY, 200)
    assert (third.entity_set, third.status) == ("Catalog_Валюты", 401)


def test_documents_returns_copies(http: requests.Session, sandbox: OnecSandbox) -> None:
    ref = post(http, sandbox, invoice(unique_comment())).json()["Ref_Key"]
    copy = next(doc for doc in sandbox.documents() if doc["Ref_Key"] == ref)
    copy["Комментарий"] = "changed by the test"
    copy["Товары"].clear()

    again = next(doc for doc in sandbox.documents() if doc["Ref_Key"] == ref)
    assert again["Комментарий"] != "changed by the test"
    assert len(again["Товары"]) == 1
    assert sandbox.documents("Catalog_Валюты")[0]["Code"] == "643"
