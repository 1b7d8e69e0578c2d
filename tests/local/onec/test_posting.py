"""Posting in the 1C sandbox (local.onec.posting): `/Post` and `/Unpost`, operational posting refused, wrong calls."""

from __future__ import annotations

import uuid

import pytest
import requests

from local.onec.model import INVOICE_SET, SALE_SET, TAX_INVOICE_SET
from local.onec.sandbox import OnecSandbox
from tests.local.onec.calls import ROMASHKA, call, create, error_of, get, patch


@pytest.mark.parametrize("entity_set", [INVOICE_SET, SALE_SET, TAX_INVOICE_SET])
def test_post_and_unpost(http: requests.Session, sandbox: OnecSandbox, entity_set: str) -> None:
    document = create(http, sandbox, entity_set)
    ref = document["Ref_Key"]
    sandbox.reset_log()

    posted = call(http, sandbox, entity_set, ref, "Post", PostingModeOperational="false")
    after_post = get(http, sandbox, f"{entity_set}(guid'{ref}')").json()
    unposted = call(http, sandbox, entity_set, ref, "Unpost")
    after_unpost = get(http, sandbox, f"{entity_set}(guid'{ref}')").json()

    assert posted.status_code == 200
    assert after_post["Posted"] is True
    assert after_post["DataVersion"] != document["DataVersion"]
    assert after_post["Number"] == document["Number"]
    assert unposted.status_code == 200
    assert after_unpost["Posted"] is False
    assert after_unpost["DataVersion"] != after_post["DataVersion"]
    log = sandbox.request_log[0]
    assert (log.method, log.entity_set, log.key, log.action, log.status) == ("POST", entity_set, ref, "Post", 200)
    assert log.query == {"PostingModeOperational": "false"}


def test_post_without_the_parameter_and_with_parentheses(http: requests.Session, sandbox: OnecSandbox) -> None:
    ref = create(http, sandbox, INVOICE_SET)["Ref_Key"]

    assert call(http, sandbox, INVOICE_SET, ref, "Post()").status_code == 200
    assert next(doc for doc in sandbox.documents() if doc["Ref_Key"] == ref)["Posted"] is True


def test_operational_posting_is_refused(http: requests.Session, sandbox: OnecSandbox) -> None:
    ref = create(http, sandbox, SALE_SET)["Ref_Key"]

    status, code, message = error_of(call(http, sandbox, SALE_SET, ref, "Post", PostingModeOperational="true"))

    assert (status, code) == (500, "-1")
    assert "RealTimePosting" in message
    assert "Оперативное проведение" in message
    assert next(doc for doc in sandbox.documents(SALE_SET) if doc["Ref_Key"] == ref)["Posted"] is False


def test_posting_an_unknown_document_is_404_code_9(http: requests.Session, sandbox: OnecSandbox) -> None:
    response = call(http, sandbox, INVOICE_SET, str(uuid.uuid4()), "Post", PostingModeOperational="false")

    assert error_of(response)[:2] == (404, "9")


@pytest.mark.parametrize(
    ("resource", "method", "expected"),
    [
        (f"Catalog_Контрагенты(guid'{ROMASHKA}')/Post", "POST", (400, "11")),
        (f"{INVOICE_SET}(guid'{ROMASHKA}')/Провести", "POST", (400, "11")),
        (f"{INVOICE_SET}(guid'{ROMASHKA}')/Post", "GET", (405, "19")),
        (f"{INVOICE_SET}/Post", "POST", (400, "7")),
        (f"Catalog_Кассы(guid'{ROMASHKA}')/Post", "POST", (404, "8")),
    ],
)
def test_wrong_posting_calls(
    http: requests.Session, sandbox: OnecSandbox, resource: str, method: str, expected: tuple[int, str]
) -> None:
    response = http.request(method, sandbox.url + resource, timeout=10)

    assert error_of(response)[:2] == expected


def test_a_document_marked_for_deletion_cannot_be_posted(http: requests.Session, sandbox: OnecSandbox) -> None:
    document = create(http, sandbox, INVOICE_SET)
    patch(http, sandbox, INVOICE_SET, document["Ref_Key"], {"DeletionMark": True})

    status, code, _ = error_of(call(http, sandbox, INVOICE_SET, document["Ref_Key"], "Post"))

    assert (status, code) == (500, "-1")


def test_post_document_helper_marks_it_posted(http: requests.Session, sandbox: OnecSandbox) -> None:
    document = create(http, sandbox, SALE_SET)

    sandbox.post_document(SALE_SET, document["Ref_Key"])

    stored = next(doc for doc in sandbox.documents(SALE_SET) if doc["Ref_Key"] == document["Ref_Key"])
    assert stored["Posted"] is True
    assert stored["DataVersion"] != document["DataVersion"]
    with pytest.raises(KeyError):
        sandbox.post_document(SALE_SET, str(uuid.uuid4()))
