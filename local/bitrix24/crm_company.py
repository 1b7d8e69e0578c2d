"""``crm.company.get``: a client company or the portal's own (``IS_MY_COMPANY``), every field a real one has."""

from __future__ import annotations

from typing import Any

from local.bitrix24.protocol import MethodResult, not_found
from local.bitrix24.store import Method, PortalStore
from local.bitrix24.values import BASE_DATE, iso, required_id, yn
from local.seed import Company

_ADDRESS_SUFFIXES = (
    "",
    "_2",
    "_CITY",
    "_POSTAL_CODE",
    "_REGION",
    "_PROVINCE",
    "_COUNTRY",
    "_COUNTRY_CODE",
    "_LOC_ADDR_ID",
)


def _company_row(company: Company) -> dict[str, Any]:
    row: dict[str, Any] = {
        "ID": str(company.id),
        "COMPANY_TYPE": "" if company.is_my_company else "CUSTOMER",
        "TITLE": company.title,
        "LOGO": None,
        "LEAD_ID": None,
        "HAS_PHONE": "N",
        "HAS_EMAIL": "N",
        "HAS_IMOL": "N",
        "ASSIGNED_BY_ID": "1",
        "CREATED_BY_ID": "1",
        "MODIFY_BY_ID": "1",
        "BANKING_DETAILS": None,
        "INDUSTRY": None,
        "REVENUE": "0",
        "CURRENCY_ID": "RUB",
        "EMPLOYEES": None,
        "COMMENTS": "",
        "DATE_CREATE": iso(BASE_DATE),
        "DATE_MODIFY": iso(BASE_DATE),
        "OPENED": "Y",
        "IS_MY_COMPANY": yn(company.is_my_company),
        "ORIGINATOR_ID": None,
        "ORIGIN_ID": None,
        "ORIGIN_VERSION": None,
    }
    for prefix in ("ADDRESS", "REG_ADDRESS"):
        for suffix in _ADDRESS_SUFFIXES:
            row[prefix + suffix] = None
    row["ADDRESS_LEGAL"] = None
    for utm in ("UTM_SOURCE", "UTM_MEDIUM", "UTM_CAMPAIGN", "UTM_CONTENT", "UTM_TERM"):
        row[utm] = None
    row["LAST_ACTIVITY_BY"] = "1"
    row["LAST_ACTIVITY_TIME"] = iso(BASE_DATE)
    return row


def company_get(store: PortalStore, params: dict[str, Any]) -> MethodResult:
    company = store.companies.get(required_id(params, "id", "ID is not defined or invalid."))
    if company is None:
        raise not_found()
    return MethodResult(_company_row(company))


METHODS: dict[str, Method] = {"crm.company.get": company_get}
