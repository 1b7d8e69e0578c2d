"""Finding the 1C references an invoice needs, with answers cached for a warm function."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from invoice_bridge.invoice.model import Buyer
from invoice_bridge.messages import Language, Msg, Text, render, t
from invoice_bridge.onec.batched import DEFAULT_MAX_URL_LENGTH, or_filters
from invoice_bridge.onec.client import ODataClient
from invoice_bridge.onec.literals import guid_literal, string_literal
from invoice_bridge.onec.posting import PostingDefaults
from invoice_bridge.ttl_cache import TtlCache

ORGANIZATIONS = "Catalog_Организации"
COUNTERPARTIES = "Catalog_Контрагенты"
CONTRACTS = "Catalog_ДоговорыКонтрагентов"
CURRENCIES = "Catalog_Валюты"
NOMENCLATURE = "Catalog_Номенклатура"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


DESCRIPTION_LENGTH = 100  # Catalog_Контрагенты.Description
FULL_NAME_LENGTH = 1000


@dataclass(frozen=True)
class CatalogRules:
    create_counterparties: bool = False
    create_contracts: bool = False
    item_code_field: Literal["Code", "Артикул"] = "Code"  # where a non-GUID product code is looked up
    max_url_length: int = DEFAULT_MAX_URL_LENGTH  # batched look-ups stay within it (onec.batched)
    language: Language = Language.RU  # of the comment on a counterparty the bridge creates


class ReferenceNotFound(LookupError):
    """Something the deal refers to is missing in 1C (its buyer, an item): the manager's to fix; the text
    says what to create or fix."""

    def __init__(self, text: Text) -> None:
        super().__init__(str(text))
        self.text = text


def no_counterparty(inn: str, kpp: str) -> Text:
    return t(Msg.NO_COUNTERPARTY_KPP, inn=inn, kpp=kpp) if kpp else t(Msg.NO_COUNTERPARTY, inn=inn)


class OnecSetupError(RuntimeError):
    """1C's set-up stops every deal alike (no organisation, an unpublished set, a missing VAT rate or currency):
    the administrator fixes it once, the deal is retried meanwhile and never rejected for it."""


@dataclass(frozen=True)
class Organization:
    ref_key: str
    name: str
    prefix: str


class CatalogResolver:
    """Organisation, counterparty, contract, currency and items; found values are cached, misses are not."""

    def __init__(
        self,
        client: ODataClient,
        *,
        ttl_seconds: float,
        rules: CatalogRules | None = None,
    ) -> None:
        self._client = client
        self._rules = rules or CatalogRules()
        self._organizations: TtlCache[str, Organization] = TtlCache(ttl_seconds)
        self._counterparties: TtlCache[tuple[str, str], str] = TtlCache(ttl_seconds)
        self._contracts: TtlCache[tuple[str, str], str | None] = TtlCache(ttl_seconds)
        self._currencies: TtlCache[str, str] = TtlCache(ttl_seconds)
        self._items: TtlCache[str, str] = TtlCache(ttl_seconds)
        self.posting = PostingDefaults(client, ttl_seconds=ttl_seconds)  # what BP needs to post (onec.posting)

    @property
    def creates_counterparties(self) -> bool:
        return self._rules.create_counterparties

    def organization(self, inn: str) -> Organization:
        return self._organizations.get_or_load(inn, lambda: self._load_organization(inn))

    def counterparty(self, buyer: Buyer) -> str:
        return self._counterparties.get_or_load((buyer.inn, buyer.kpp), lambda: self._load_counterparty(buyer))

    def find_counterparty(self, buyer: Buyer) -> str | None:
        """The buyer's counterparty if 1C has it; never creates one (the pre-flight looks, it does not write)."""
        found, _ = self._counterparties.get_many(((buyer.inn, buyer.kpp),))
        if found:
            return found[(buyer.inn, buyer.kpp)]
        key = self._query_counterparty(buyer.inn, buyer.kpp)
        if key is not None:
            self._counterparties.put((buyer.inn, buyer.kpp), key)
        return key

    def buyer_contract(self, counterparty_key: str, organization_key: str) -> str | None:
        return self._contracts.get_or_load(
            (counterparty_key, organization_key), lambda: self._load_contract(counterparty_key, organization_key)
        )

    def currency(self, code: str) -> str:
        return self._currencies.get_or_load(code, lambda: self._load_currency(code))

    def nomenclature(self, external_code: str) -> str:
        return self._items.get_or_load(external_code, lambda: self._load_item(external_code))

    def prefetch(self, buyers: Iterable[Buyer], item_codes: Iterable[str], organization_key: str | None) -> None:
        """Looks up, several at a time, what the coming drafts need and the cache lacks: counterparties, then
        their contracts with `organization_key`, and items. What is not found stays uncached: the one-by-one
        look-up then creates it or says what is missing."""
        wanted = {(buyer.inn, buyer.kpp): buyer for buyer in buyers}
        _, missing = self._counterparties.get_many(wanted)
        if missing:
            self._prefetch_counterparties(sorted(missing))
        if organization_key is not None:
            found, _ = self._counterparties.get_many(wanted)
            owners = sorted(set(found.values()))
            _, lacking = self._contracts.get_many((owner, organization_key) for owner in owners)
            if lacking:
                self._prefetch_contracts(sorted(owner for owner, _ in lacking), organization_key)
        _, codes = self._items.get_many({code for code in item_codes if code})
        if codes:
            self._prefetch_items(sorted(codes))

    def _prefetch_counterparties(self, keys: list[tuple[str, str]]) -> None:
        select = ("Ref_Key", "ИНН", "КПП")
        terms = [f"(ИНН eq {string_literal(inn)} and КПП eq {string_literal(kpp)})" for inn, kpp in keys]
        wanted = set(keys)
        for condition in self._filters(COUNTERPARTIES, terms, select, " and DeletionMark eq false"):
            for row in self._client.query(COUNTERPARTIES, filter=condition, select=select):
                key = (str(row.get("ИНН", "")), str(row.get("КПП", "")))
                if key in wanted:
                    wanted.discard(key)  # the first, as `top=1` would take
                    self._counterparties.put(key, str(row["Ref_Key"]))

    def _prefetch_contracts(self, owners: list[str], organization_key: str) -> None:
        select = ("Ref_Key", "Owner_Key")
        terms = [f"Owner_Key eq {guid_literal(owner)}" for owner in owners]
        suffix = (
            f" and Организация_Key eq {guid_literal(organization_key)} and ВидДоговора eq 'СПокупателем'"
            " and DeletionMark eq false"
        )
        wanted = {owner.lower(): owner for owner in owners}
        for condition in self._filters(CONTRACTS, terms, select, suffix):
            for row in self._client.query(CONTRACTS, filter=condition, select=select):
                owner = wanted.pop(str(row.get("Owner_Key", "")).lower(), None)
                if owner is not None:
                    self._contracts.put((owner, organization_key), str(row["Ref_Key"]))
        if not self._rules.create_contracts:
            for owner in wanted.values():  # none: 1C fills its default, as `_load_contract` would answer
                self._contracts.put((owner, organization_key), None)

    def _prefetch_items(self, codes: list[str]) -> None:
        guids = [code for code in codes if _GUID.match(code)]
        by_code = [code for code in codes if not _GUID.match(code)]
        field = self._rules.item_code_field
        for name, group, literal in (("Ref_Key", guids, guid_literal), (field, by_code, string_literal)):
            if not group:
                continue
            select = ("Ref_Key", name) if name != "Ref_Key" else ("Ref_Key",)
            wanted = {code.lower() if name == "Ref_Key" else code: code for code in group}
            terms = [f"{name} eq {literal(code)}" for code in group]
            for condition in self._filters(NOMENCLATURE, terms, select, ""):
                for row in self._client.query(NOMENCLATURE, filter=condition, select=select):
                    value = str(row.get(name, ""))
                    code = wanted.pop(value.lower() if name == "Ref_Key" else value, None)
                    if code is not None:
                        self._items.put(code, str(row["Ref_Key"]))

    def _filters(self, entity_set: str, terms: list[str], select: tuple[str, ...], suffix: str) -> list[str]:
        return or_filters(
            self._client, entity_set, terms, select=select, max_url_length=self._rules.max_url_length, suffix=suffix
        )

    def _load_organization(self, inn: str) -> Organization:
        condition = f"ИНН eq {string_literal(inn)} and " if inn else ""
        rows = self._client.query(
            ORGANIZATIONS,
            filter=condition + "DeletionMark eq false",
            select=("Ref_Key", "Description", "Префикс"),
            top=2,
        )
        if inn and not rows:
            raise OnecSetupError(
                f"no organisation with INN {inn} in 1C: the seller chosen in Bitrix24 (or the OnecOrganizationInn "
                "parameter) must be an organisation of the 1C base"
            )
        if not inn and len(rows) != 1:
            raise OnecSetupError(
                "1C has several organisations; set the OnecOrganizationInn parameter to the seller's INN"
                if rows
                else "1C has no organisation; create the seller in Справочники → Организации"
            )
        row = rows[0]
        return Organization(str(row["Ref_Key"]), str(row.get("Description", "")), str(row.get("Префикс", "")))

    def _load_counterparty(self, buyer: Buyer) -> str:
        inn, kpp = buyer.inn, buyer.kpp
        if (found := self._query_counterparty(inn, kpp)) is not None:
            return found
        if not self._rules.create_counterparties:
            raise ReferenceNotFound(no_counterparty(inn, kpp))
        created = self._client.create(
            COUNTERPARTIES,
            {
                "Description": buyer.name[:DESCRIPTION_LENGTH],
                "НаименованиеПолное": buyer.full_name[:FULL_NAME_LENGTH],
                "ЮридическоеФизическоеЛицо": "ФизическоеЛицо" if buyer.is_individual else "ЮридическоеЛицо",
                "ИНН": inn,
                "КПП": kpp,
                "Комментарий": render(t(Msg.ONEC_COUNTERPARTY_COMMENT), self._rules.language),
            },
        )
        return str(created["Ref_Key"])

    def _query_counterparty(self, inn: str, kpp: str) -> str | None:
        rows = self._client.query(
            COUNTERPARTIES,
            filter=f"ИНН eq {string_literal(inn)} and КПП eq {string_literal(kpp)} and DeletionMark eq false",
            select=("Ref_Key",),
            top=1,
        )
        return str(rows[0]["Ref_Key"]) if rows else None

    def _load_contract(self, counterparty_key: str, organization_key: str) -> str | None:
        rows = self._client.query(
            CONTRACTS,
            filter=(
                f"Owner_Key eq {guid_literal(counterparty_key)} and Организация_Key eq {guid_literal(organization_key)}"
                " and ВидДоговора eq 'СПокупателем' and DeletionMark eq false"
            ),
            select=("Ref_Key",),
            top=1,
        )
        if rows:
            return str(rows[0]["Ref_Key"])
        if not self._rules.create_contracts:
            return None  # 1C fills its default when accounting by contracts is off
        created = self._client.create(
            CONTRACTS,
            {
                "Owner_Key": counterparty_key,
                "Организация_Key": organization_key,
                "ВидДоговора": "СПокупателем",
                "Description": "Основной договор",
            },
        )
        return str(created["Ref_Key"])

    def _load_currency(self, code: str) -> str:
        rows = self._client.query(CURRENCIES, filter=f"Code eq {string_literal(code)}", select=("Ref_Key",), top=1)
        if not rows:
            raise OnecSetupError(f"currency with code {code} is not in 1C's Справочники → Валюты")
        return str(rows[0]["Ref_Key"])

    def _load_item(self, external_code: str) -> str:
        if _GUID.match(external_code):
            condition = f"Ref_Key eq {guid_literal(external_code)}"
        else:
            condition = f"{self._rules.item_code_field} eq {string_literal(external_code)}"
        rows = self._client.query(NOMENCLATURE, filter=condition, select=("Ref_Key",), top=1)
        if not rows:
            raise ReferenceNotFound(t(Msg.NO_ITEM, code=external_code))
        return str(rows[0]["Ref_Key"])
