"""1C web client navigation links: the ref is the GUID's groups in 1C's order, not the GUID without dashes."""

from __future__ import annotations

import pytest

from invoice_bridge.onec.navigation import document_link, metadata_name, navigation_ref


def test_the_ref_reorders_the_guid_groups() -> None:
    assert navigation_ref("12345678-1234-5678-9abc-123456789abc") == "9abc123456789abc5678123412345678"
    assert navigation_ref("BCC9C5F3-F115-11EA-AA78-120ED92FBCED") == "aa78120ed92fbced11eaf115bcc9c5f3"


def test_a_link_opens_the_document_in_the_web_client() -> None:
    link = document_link(
        "https://1c.example.ru/buh/", "Document_СчетНаОплатуПокупателю", "12345678-1234-5678-9abc-123456789abc"
    )
    assert link == (
        "https://1c.example.ru/buh/#e1cib/data/Документ.СчетНаОплатуПокупателю?ref=9abc123456789abc5678123412345678"
    )
    assert metadata_name("Document_РеализацияТоваровУслуг") == "Документ.РеализацияТоваровУслуг"
    assert metadata_name("Catalog_Контрагенты") == "Справочник.Контрагенты"


def test_no_link_without_a_web_client_or_a_guid() -> None:
    assert document_link("", "Document_СчетНаОплатуПокупателю", "12345678-1234-5678-9abc-123456789abc") == ""
    assert document_link("https://1c.example.ru/buh", "Document_СчетНаОплатуПокупателю", "42") == ""
    with pytest.raises(ValueError, match="not a GUID"):
        navigation_ref("12345678123456789abc123456789abc")
