"""The portal's records behind the sandbox: the seeded deals, new invoices, companies, requisites and products (from
:mod:`local.seed`), when each deal and invoice last changed, their user-field values, values a test made the portal
serve verbatim, and the write-backs calls made (deal and item updates, timeline comments).

The REST methods (``crm_*.py``, ``catalog.py``) read and change it; :class:`~local.bitrix24.sandbox.Bitrix24Sandbox`
holds one and serialises every call under its lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from local.bitrix24.lists import ListOrder
from local.bitrix24.protocol import MethodResult
from local.bitrix24.values import BASE_DATE, PORTAL_TZ
from local.seed import Company, Deal, Product, Requisite, SmartInvoice


@dataclass(frozen=True)
class TimelineComment:
    """One comment ``crm.timeline.comment.add`` stored."""

    id: int
    entity_type: str  # as sent, e.g. "deal"
    entity_id: int
    comment: str


@dataclass(frozen=True)
class DealUpdate:
    """One ``crm.deal.update`` call that reached an existing deal; ``fields`` exactly as sent."""

    deal_id: int
    fields: dict[str, Any]


@dataclass(frozen=True)
class ItemUpdate:
    """One ``crm.item.update`` call that reached an existing item; ``fields`` exactly as sent."""

    entity_type_id: int
    item_id: int
    fields: dict[str, Any]


class PortalStore:
    """One portal's records. ``deal_user_fields`` and ``invoice_user_fields`` name the portal's ``UF_CRM_*``
    fields (``None`` accepts any ``UF_CRM_*`` name); ``clock`` (unix seconds) stamps changes."""

    def __init__(
        self,
        *,
        deals: Iterable[Deal],
        companies: Iterable[Company],
        requisites: Iterable[Requisite],
        products: Iterable[Product],
        smart_invoices: Iterable[SmartInvoice],
        deal_user_fields: Iterable[str] | None,
        invoice_user_fields: Iterable[str] | None,
        clock: Callable[[], float],
        list_order: ListOrder,
    ) -> None:
        self.deals: dict[int, Deal] = {deal.id: deal for deal in deals}
        self.deal_modified: dict[int, datetime] = {deal_id: BASE_DATE for deal_id in self.deals}
        self.deal_uf: dict[int, dict[str, Any]] = {}
        self.invoices: dict[int, SmartInvoice] = {invoice.id: invoice for invoice in smart_invoices}
        self.invoice_modified: dict[int, datetime] = {invoice_id: BASE_DATE for invoice_id in self.invoices}
        self.invoice_uf: dict[int, dict[str, Any]] = {}
        self.deal_user_fields = None if deal_user_fields is None else frozenset(deal_user_fields)
        self.invoice_user_fields = None if invoice_user_fields is None else frozenset(invoice_user_fields)
        self.companies: dict[int, Company] = {company.id: company for company in companies}
        self.requisites: dict[int, Requisite] = {requisite.id: requisite for requisite in requisites}
        self.products: dict[int, Product] = {product.id: product for product in products}
        self.list_order = list_order  # default order and unknown order keys of list methods (local.bitrix24.lists)
        self.raw_fields: dict[tuple[str, int], dict[str, Any]] = {}
        self.comments: list[TimelineComment] = []
        self.deal_updates: list[DealUpdate] = []
        self.item_updates: list[ItemUpdate] = []
        self.next_comment_id = 1
        self._clock = clock

    def now(self) -> datetime:
        """Modification stamps (DATE_MODIFY, updatedTime) come from the sandbox's ``clock``."""
        return datetime.fromtimestamp(self._clock(), PORTAL_TZ)

    def raw(self, kind: str, entity_id: int) -> dict[str, Any]:
        """The values a test set to be served verbatim (see ``Bitrix24Sandbox.set_raw_fields``)."""
        return dict(self.raw_fields.get((kind, entity_id), {}))

    def set_raw(self, kind: str, entity_id: int, fields: Mapping[str, Any]) -> None:
        self.raw_fields.setdefault((kind, entity_id), {}).update(fields)


Method = Callable[[PortalStore, dict[str, Any]], MethodResult]
"""A REST method: the portal's records and the call's parameters in, the result out (or a RestError)."""
