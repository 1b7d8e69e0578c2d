"""What a document needs so that BP 3.0 posts it, beyond what a draft needs.

BP's fill checks run when a document is posted (`ОбработкаПроверкиЗаполнения` in each document's object module of
the BP 3.0.198 configuration): a buyer invoice needs the receiving organisation and its bank account
(`ОрганизацияПолучатель`, `СтруктурнаяЕдиница`); a sale needs the warehouse for goods and its accounting fields
(header 62.01/62.02; goods lines 41.01, 90.01.1, 90.02.1, 90.03; service lines the last three). A draft gets what
the base has; when posting is configured and the base lacks one of them, the deal waits (an `OnecSetupError`, as
for any set-up problem) and `doctor` names what to set up.
"""

from __future__ import annotations

from typing import Any

from invoice_bridge.onec.client import ODataClient, ODataError
from invoice_bridge.onec.literals import string_literal
from invoice_bridge.ttl_cache import TtlCache

ORGANIZATIONS = "Catalog_Организации"
WAREHOUSES = "Catalog_Склады"
ACCOUNTS = "ChartOfAccounts_Хозрасчетный"
POSTING_SETS = (WAREHOUSES, ACCOUNTS)  # what posting a sale needs published, besides the documents' own sets
ZERO_GUID = "00000000-0000-0000-0000-000000000000"

SALE_HEADER_ACCOUNTS = {"СчетУчетаРасчетовСКонтрагентом_Key": "62.01", "СчетУчетаРасчетовПоАвансам_Key": "62.02"}
GOODS_LINE_ACCOUNTS = {
    "СчетУчета_Key": "41.01",
    "СчетДоходов_Key": "90.01.1",
    "СчетРасходов_Key": "90.02.1",
    "СчетУчетаНДСПоРеализации_Key": "90.03",
}
SERVICE_LINE_ACCOUNTS = {name: code for name, code in GOODS_LINE_ACCOUNTS.items() if name != "СчетУчета_Key"}


class PostingSetupMissing(LookupError):
    """The base lacks something posting needs; the text says what to set up in 1C."""


class PostingDefaults:
    """The organisation's main bank account, the main warehouse and the sale's accounts, cached."""

    def __init__(self, client: ODataClient, *, ttl_seconds: float) -> None:
        self._client = client
        self._bank_accounts: TtlCache[str, str | None] = TtlCache(ttl_seconds)
        self._warehouse: TtlCache[str, str | None] = TtlCache(ttl_seconds)
        self._accounts: TtlCache[str, dict[str, str]] = TtlCache(ttl_seconds)

    def bank_account(self, organization_key: str) -> str:
        key = self._bank_accounts.get_or_load(organization_key, lambda: self._load_bank_account(organization_key))
        if key is None:
            raise PostingSetupMissing(
                "the organisation has no main bank account, which BP needs to post a buyer invoice: set "
                "«Основной банковский счет» in Справочники → Организации"
            )
        return key

    def warehouse(self) -> str:
        key = self._warehouse.get_or_load("main", self._load_warehouse)
        if key is None:
            raise PostingSetupMissing(
                "1C publishes no warehouse, which BP needs to post a sale of goods: create the main warehouse in "
                "Справочники → Склады and add Справочник «Склады» to the OData composition"
            )
        return key

    def accounts(self, names: dict[str, str]) -> dict[str, str]:
        """`{field: account Ref_Key}` for `{field: account code}`."""
        chart = self._accounts.get_or_load("chart", self._load_accounts)
        missing = sorted({code for code in names.values() if code not in chart})
        if missing:
            raise PostingSetupMissing(
                f"1C does not publish the accounts {', '.join(missing)} of the Хозрасчетный chart, which BP needs to "
                "post a sale: add План счетов «Хозрасчетный» to the OData composition"
            )
        return {name: chart[code] for name, code in names.items()}

    def _load_bank_account(self, organization_key: str) -> str | None:
        row = self._client.get(ORGANIZATIONS, organization_key, select=("ОсновнойБанковскийСчет_Key",))
        key = str(row.get("ОсновнойБанковскийСчет_Key") or ZERO_GUID)
        return None if key == ZERO_GUID else key

    def _load_warehouse(self) -> str | None:
        """A warehouse of the base (a base with several should name its main one; see the README)."""
        rows = _unless_unpublished(
            lambda: self._client.query(WAREHOUSES, filter="DeletionMark eq false", select=("Ref_Key",), top=1)
        )
        return str(rows[0]["Ref_Key"]) if rows else None

    def _load_accounts(self) -> dict[str, str]:
        codes = sorted(set(SALE_HEADER_ACCOUNTS.values()) | set(GOODS_LINE_ACCOUNTS.values()))
        condition = " or ".join(f"Code eq {string_literal(code)}" for code in codes)
        rows = _unless_unpublished(
            lambda: self._client.query(ACCOUNTS, filter=condition, select=("Ref_Key", "Code"), top=len(codes))
        )
        return {str(row["Code"]): str(row["Ref_Key"]) for row in rows}


def _unless_unpublished(query: Any) -> list[dict[str, Any]]:
    """The rows, or none when the set is not in the OData composition (that is reported as missing set-up)."""
    try:
        rows: list[dict[str, Any]] = query()
    except ODataError as exc:
        if exc.setup and exc.status not in (401, 403):
            return []
        raise
    return rows


def optional(load: Any, *args: Any) -> Any:
    """What `load` finds, or None when the base lacks it (a draft does without)."""
    try:
        return load(*args)
    except PostingSetupMissing:
        return None
