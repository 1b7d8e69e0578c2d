"""The 1C sandbox's limits (local.onec.limits): latency before every answer and the cap on concurrent sessions."""

from __future__ import annotations

import time

import requests

from local.onec.sandbox import OnecSandbox
from tests.local.onec.calls import concurrently, error_of, get


def test_latency_delays_every_answer(http: requests.Session) -> None:
    with OnecSandbox(latency_seconds=0.3) as slow:
        started = time.monotonic()
        assert get(http, slow, "Catalog_Валюты").status_code == 200
        slow_answer = time.monotonic() - started
        slow.set_latency(0)
        started = time.monotonic()
        assert get(http, slow, "Catalog_Валюты").status_code == 200
        fast_answer = time.monotonic() - started

    assert slow_answer >= 0.3
    assert fast_answer < 0.25


def test_latency_is_served_side_by_side() -> None:
    with OnecSandbox(latency_seconds=0.4) as slow:
        started = time.monotonic()
        answers = concurrently(slow, 4)
        elapsed = time.monotonic() - started

    assert [answer.status_code for answer in answers] == [200] * 4
    assert elapsed < 1.2  # four requests of 0.4 s each did not wait for one another


def test_session_cap_refuses_the_extra_concurrent_requests(http: requests.Session) -> None:
    with OnecSandbox(latency_seconds=0.6, max_sessions=2) as capped:
        answers = concurrently(capped, 5)
        afterwards = get(http, capped, "Catalog_Валюты")  # the sessions were given back
        log = list(capped.request_log)

    assert sorted(answer.status_code for answer in answers) == [200, 200, 503, 503, 503]
    refused = [answer for answer in answers if answer.status_code == 503]
    assert {error_of(answer) for answer in refused} == {(503, "-1", "Превышено максимальное количество сеансов")}
    assert afterwards.status_code == 200
    assert sorted(entry.status for entry in log) == [200, 200, 200, 503, 503, 503]
    assert {entry.entity_set for entry in log} == {"Catalog_Валюты"}


def test_without_a_cap_many_concurrent_requests_are_served() -> None:
    with OnecSandbox(latency_seconds=0.2) as uncapped:
        answers = concurrently(uncapped, 12)

    assert [answer.status_code for answer in answers] == [200] * 12
