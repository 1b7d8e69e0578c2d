"""The BP releases the 1C sandbox imitates (local.onec.releases): line shapes and VAT rates by release."""

from __future__ import annotations

import pytest
import requests

from local.onec.releases import OnecFlavour
from local.onec.sandbox import OnecSandbox
from local.seed import (
    NOMENCLATURE_LAPTOP,
)
from tests.local.onec.calls import NEW_RATES, error_of, invoice, old_row, post, unique_comment


def test_flavour_defaults_to_bp_3_0_198(sandbox: OnecSandbox) -> None:
    assert sandbox.flavour is OnecFlavour.BP_3_0_198


def test_old_release_takes_lines_with_nomenclature_key(http: requests.Session, old_release: OnecSandbox) -> None:
    response = post(http, old_release, invoice(unique_comment(), Товары=[old_row()]))

    assert response.status_code == 201, response.text
    (line,) = response.json()["Товары"]
    assert line["Номенклатура_Key"] == NOMENCLATURE_LAPTOP
    assert "Номенклатура" not in line
    assert "Номенклатура_Type" not in line
    assert response.json()["СуммаДокумента"] == 240000


@pytest.mark.parametrize(
    ("flavour", "foreign_shape", "named"),
    [
        (OnecFlavour.BP_2018, {"Номенклатура": NOMENCLATURE_LAPTOP,
                               "Номенклатура_Type": "StandardODATA.Catalog_Номенклатура"}, "Номенклатура"),
        (OnecFlavour.BP_3_0_198, {"Номенклатура_Key": NOMENCLATURE_LAPTOP}, "Номенклатура_Key"),
    ],
)  # fmt: skip
def test_the_other_release_line_shape_is_400_code_10(
    http: requests.Session, flavour: OnecFlavour, foreign_shape: dict[str, str], named: str
) -> None:
    row = {"LineNumber": "1", **foreign_shape, "Количество": 1, "Цена": 100, "Сумма": 100, "СтавкаНДС": "НДС20",
           "СуммаНДС": 16.67}  # fmt: skip
    with OnecSandbox(flavour=flavour) as release:
        status, code, message = error_of(post(http, release, invoice(unique_comment(), Товары=[row])))

    assert (status, code) == (400, "10")
    assert f"Товары (LineNumber=1).{named}" in message


@pytest.mark.parametrize("rate", NEW_RATES)
def test_old_release_refuses_the_late_2025_vat_rates(
    http: requests.Session, old_release: OnecSandbox, rate: str
) -> None:
    status, code, message = error_of(
        post(http, old_release, invoice(unique_comment(), Товары=[old_row(СтавкаНДС=rate)]))
    )

    assert (status, code) == (400, "4")
    assert f"'{rate}'" in message


@pytest.mark.parametrize("rate", ["НДС20", "НДС10", "НДС0", "БезНДС", "НДС18"])
def test_old_release_takes_its_own_vat_rates(http: requests.Session, old_release: OnecSandbox, rate: str) -> None:
    assert post(http, old_release, invoice(unique_comment(), Товары=[old_row(СтавкаНДС=rate)])).status_code == 201


def test_current_release_takes_the_usn_rates(http: requests.Session, sandbox: OnecSandbox) -> None:
    body = invoice(unique_comment())
    body["Товары"][0].update(СтавкаНДС="НДС5", СуммаНДС=11619.05)

    assert post(http, sandbox, body).status_code == 201
