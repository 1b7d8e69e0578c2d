from datetime import date
from decimal import Decimal

import pytest

from invoice_bridge.invoice.model import VatRate
from invoice_bridge.invoice.vat import vat_rate_on

IN_2026 = date(2026, 3, 1)
IN_2025 = date(2025, 12, 31)


@pytest.mark.parametrize(
    ("percent", "on", "expected"),
    [
        (Decimal("22"), IN_2026, VatRate.VAT22),
        (Decimal("22.00"), IN_2026, VatRate.VAT22),
        (Decimal("20"), IN_2025, VatRate.VAT20),
        (Decimal("10"), IN_2026, VatRate.VAT10),
        (Decimal("0"), IN_2026, VatRate.VAT0),
        (None, IN_2026, VatRate.WITHOUT_VAT),
        (Decimal("5"), IN_2026, VatRate.VAT5),
        (Decimal("7"), IN_2026, VatRate.VAT7),
    ],
)
def test_known_rates(percent: Decimal | None, on: date, expected: VatRate) -> None:
    assert vat_rate_on(percent, on) is expected


def test_without_vat_is_not_zero_percent() -> None:
    assert vat_rate_on(None, IN_2026) is not vat_rate_on(Decimal(0), IN_2026)


@pytest.mark.parametrize(
    ("percent", "on", "fragment"),
    [
        (Decimal("20"), IN_2026, "22 % from 01.01.2026"),
        (Decimal("22"), IN_2025, "not valid on 31.12.2025"),
        (Decimal("18"), IN_2026, "not a Russian VAT rate"),
        (Decimal("12.5"), IN_2026, "not a Russian VAT rate"),
    ],
)
def test_rates_that_are_wrong_on_the_date(percent: Decimal, on: date, fragment: str) -> None:
    result = vat_rate_on(percent, on)
    assert not isinstance(result, VatRate)
    assert fragment in str(result)
