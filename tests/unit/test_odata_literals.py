from datetime import datetime

import pytest

from invoice_bridge.onec.literals import datetime_literal, guid_literal, string_literal


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("Ромашка", "'Ромашка'"),
        ("O'Brien", "'O''Brien'"),
        ("' or 1 eq 1 or '", "''' or 1 eq 1 or '''"),
        ("", "''"),
    ],
)
def test_string_literal_doubles_quotes(value: str, literal: str) -> None:
    assert string_literal(value) == literal


def test_guid_literal_accepts_only_guids() -> None:
    assert guid_literal("6F1C2A10-8D3E-11EF-A1B2-0050569F62A1") == "guid'6f1c2a10-8d3e-11ef-a1b2-0050569f62a1'"
    with pytest.raises(ValueError, match="badly formed"):
        guid_literal("x') or (1 eq 1")


def test_datetime_literal_drops_zone_and_microseconds() -> None:
    from zoneinfo import ZoneInfo

    moment = datetime(2026, 2, 10, 12, 0, 5, 123, tzinfo=ZoneInfo("Europe/Moscow"))
    assert datetime_literal(moment) == "datetime'2026-02-10T12:00:05'"
