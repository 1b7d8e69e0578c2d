"""User-field names as crm.item.* spells them."""

from __future__ import annotations

import pytest

from local.bitrix24.user_fields import uf_name_from_camel, uf_name_to_camel


@pytest.mark.parametrize(
    ("name", "entity_type_id", "camel"),
    [
        ("UF_CRM_1725365197310", 2, "ufCrm_1725365197310"),
        ("UF_CRM_INVOICE_NO", 2, "ufCrmInvoiceNo"),
        ("UF_CRM_SMART_INVOICE_1669960460", 31, "ufCrmSmartInvoice1669960460"),
        ("UF_CRM_SMART_INVOICE_PAID_AMOUNT", 31, "ufCrmSmartInvoicePaidAmount"),
    ],
)
def test_user_field_names_round_trip(name: str, entity_type_id: int, camel: str) -> None:
    assert uf_name_to_camel(name, entity_type_id) == camel
    assert uf_name_from_camel(camel, entity_type_id) == name
    assert uf_name_from_camel("title", entity_type_id) is None
