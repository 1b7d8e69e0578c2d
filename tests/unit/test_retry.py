"""Retry delays (retry.py) and the breakers' upstream keys (breaker.py)."""

from __future__ import annotations

import pytest

from invoice_bridge.breaker import bitrix24_upstream, onec_upstream
from invoice_bridge.retry import (
    JITTER,
    SQS_MAX_VISIBILITY_SECONDS,
    backoff_seconds,
    retry_delay,
    survivable_outage_seconds,
)


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    assert [backoff_seconds(n, 30, 3600) for n in range(1, 10)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert backoff_seconds(500, 30, 3600) == 3600  # no overflow on absurd receive counts
    assert backoff_seconds(0, 30, 3600) == 30


def test_survivable_outage_is_the_sum_of_the_steps_before_the_last_receive() -> None:
    assert survivable_outage_seconds(1, 4, 5) == 1 + 2 + 4 + 4
    assert survivable_outage_seconds(30, 3600, 15) == 29010


@pytest.mark.parametrize("draw", [0.0, 0.5, 0.999])
def test_jitter_only_lengthens_a_delay_by_at_most_its_share(draw: float) -> None:
    delay = retry_delay(4, 30, 3600, now=0, rng=lambda: draw)
    assert 240 <= delay <= 240 * (1 + JITTER) + 1


def test_not_before_wins_when_it_is_later_than_the_backoff() -> None:
    assert retry_delay(1, 30, 3600, not_before=1000.0, now=900.0, rng=lambda: 0.0) == 100
    assert retry_delay(1, 30, 3600, not_before=905.0, now=900.0, rng=lambda: 0.0) == 30  # backoff is longer
    assert retry_delay(1, 30, 3600, not_before=100.0, now=900.0, rng=lambda: 0.0) == 30  # already past


def test_a_delay_never_exceeds_what_change_message_visibility_accepts() -> None:
    delay = retry_delay(1, 30, 3600, not_before=10**9, now=0, rng=lambda: 0.999)
    assert delay < SQS_MAX_VISIBILITY_SECONDS


def test_the_1c_key_never_holds_credentials_and_ignores_them() -> None:
    plain = onec_upstream("https://1c.example.ru/bp30/odata/standard.odata/")
    with_login = onec_upstream("https://odata:s3cret@1C.example.ru/bp30/odata/standard.odata")
    assert plain == with_login
    assert "s3cret" not in with_login
    assert "odata" not in with_login.removeprefix("onec:")
    assert onec_upstream("https://1c.example.ru/other/odata/standard.odata/") != plain
    assert bitrix24_upstream("a223c6b3") == "bitrix24:a223c6b3"
