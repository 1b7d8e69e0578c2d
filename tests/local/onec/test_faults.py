"""Faults injected into the 1C sandbox (local.onec.faults): the next requests failing, before or after the write."""

from __future__ import annotations

import requests

from local.onec.sandbox import OnecSandbox
from tests.local.onec.calls import error_of, get, invoice, post, unique_comment


def test_fail_next_injects_faults_then_recovers(http: requests.Session, sandbox: OnecSandbox) -> None:
    sandbox.reset_log()
    sandbox.fail_next(2, status=503, code="-1", message="Сервис временно недоступен")

    first, second = get(http, sandbox, "Catalog_Валюты"), get(http, sandbox, "Catalog_Валюты")
    third = get(http, sandbox, "Catalog_Валюты")

    assert error_of(first) == (503, "-1", "Сервис временно недоступен")
    assert error_of(second) == (503, "-1", "Сервис временно недоступен")
    assert third.status_code == 200
    assert [entry.status for entry in sandbox.request_log] == [503, 503, 200]


def test_fail_next_default_is_the_internal_error_and_stores_nothing(
    http: requests.Session, sandbox: OnecSandbox
) -> None:
    comment = unique_comment()
    sandbox.fail_next(1)

    status, code, message = error_of(post(http, sandbox, invoice(comment)))

    assert (status, code) == (500, "-1")
    assert "внутренняя ошибка" in message
    assert not [doc for doc in sandbox.documents() if doc["Комментарий"] == comment]


def test_fail_next_after_write_stores_but_fails_the_answer(http: requests.Session, sandbox: OnecSandbox) -> None:
    comment = unique_comment()
    sandbox.fail_next(1, status=502, code="-1", message="Bad gateway", after_write=True)

    assert error_of(post(http, sandbox, invoice(comment)))[0] == 502
    assert len([doc for doc in sandbox.documents() if doc["Комментарий"] == comment]) == 1
