"""The doctor against the local stack: a correct set-up passes, each mistake is named."""

from __future__ import annotations

import pytest

from local.doctor import main


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
