"""The doctor against the local stack: a correct set-up passes, each mistake is named."""

from __future__ import annotations

import pytest

from invoice_bridge import doctor
from local.runners.doctor import main
from local.seed import PORTAL_B_MEMBER_ID, PORTAL_DOMAIN, PORTAL_MEMBER_ID
from local.stack import LocalStack
from tests.integration.test_bridge_end_to_end import post, webhook


def test_correct_set_up_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "FIX" not in out
    assert "Everything is in place." in out


def test_unpublished_set_and_missing_22_percent_are_both_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--unpublished", "Catalog_Валюты", "--release", "bp_2018"]) == 1
    out = capsys.readouterr().out
    assert "1C does not publish Catalog_Валюты" in out
    assert "1C has no VAT rate НДС22" in out
    assert "2 problems found." in out


def test_sale_profile_needs_its_documents_published(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--document-kind", "sale_and_tax_invoice", "--unpublished", "Document_СчетФактураВыданный"])
    assert code == 1
    assert "1C does not publish Document_СчетФактураВыданный" in capsys.readouterr().out


def test_unknown_trigger_stage_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--trigger-stage-ids", "C1:UC_INVOICE,C1:UC_NOPE"]) == 1
    out = capsys.readouterr().out
    assert "trigger stages C1:UC_NOPE do not exist" in out


def test_both_portals_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert f"portals[0] ({PORTAL_MEMBER_ID}): the Bitrix24 incoming webhook has the crm scope" in out
    assert f"portals[1] ({PORTAL_B_MEMBER_ID}): the Bitrix24 incoming webhook has the crm scope" in out


def test_a_first_release_secret_shows_its_pin(stack: LocalStack, capsys: pytest.CaptureFixture[str]) -> None:
    stack.use_secret(stack.single_portal_secret())
    assert doctor.main([]) == 0
    assert "single-portal secret: not pinned yet" in capsys.readouterr().out
    assert post(stack, webhook(1001)).status_code == 200
    assert doctor.main([]) == 0
    assert f"pinned to member_id {PORTAL_MEMBER_ID}, domain {PORTAL_DOMAIN}" in capsys.readouterr().out


def test_unpublished_payment_registers_name_the_composition_entries(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "--unpublished",
            "InformationRegister_СтатусыДокументов",
            "--unpublished",
            "AccumulationRegister_ОплатаСчетов_RecordType",
        ]
    )
    assert code == 1
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if "status sync" in line]
    assert line.lstrip().startswith("FIX")
    assert "add РегистрСведений.СтатусыДокументов, РегистрНакопления.ОплатаСчетов to the OData composition" in line
    assert "1 problem found." in out


def test_status_sync_sets_published_and_readable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "status sync: 1C publishes and reads Document_СчетНаОплатуПокупателю" in capsys.readouterr().out
