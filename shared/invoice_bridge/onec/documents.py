"""The 1C documents a deal becomes, one profile per configured document kind.

Every document carries the deal's key in `Комментарий` (`onec.document_keys`), so an attempt whose outcome is
unknown finds it instead of creating it twice; it is a draft (pending review) unless posting is configured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from invoice_bridge.invoice.model import InvoiceDraft, InvoiceLine
from invoice_bridge.messages import Language, Msg, render, t
from invoice_bridge.onec.catalogs import (
    CONTRACTS,
    COUNTERPARTIES,
    CURRENCIES,
    NOMENCLATURE,
    ORGANIZATIONS,
    CatalogResolver,
    OnecSetupError,
    Organization,
)
from invoice_bridge.onec.client import ODataClient
from invoice_bridge.onec.document_keys import (
    KeySearch,
    OnecDocument,
    find_by_key,
    key_marker,
    marker_of,
    neutral,
    read_by_ref,
    tax_invoice_search,
)
from invoice_bridge.onec.posting import (
    GOODS_LINE_ACCOUNTS,
    SALE_HEADER_ACCOUNTS,
    SERVICE_LINE_ACCOUNTS,
    PostingSetupMissing,
)
from invoice_bridge.onec.schema import ItemReference, OnecSchema

BUYER_INVOICES = "Document_СчетНаОплатуПокупателю"
SALES = "Document_РеализацияТоваровУслуг"
TAX_INVOICES = "Document_СчетФактураВыданный"
CATALOGS = (ORGANIZATIONS, COUNTERPARTIES, CONTRACTS, CURRENCIES, NOMENCLATURE)
NOMENCLATURE_TYPE = "StandardODATA.Catalog_Номенклатура"


@dataclass(frozen=True)
class DocumentContext:
    client: ODataClient
    catalogs: CatalogResolver
    schema: OnecSchema
    post: bool  # post new documents instead of leaving drafts
    language: Language = Language.RU  # of the document's comment


class DocumentProfile(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def entity_sets(self) -> tuple[str, ...]:
        """What the 1C OData composition must publish."""
        ...

    @property
    def primary_set(self) -> str:
        """Where the document the ledger records lives."""
        ...

    def find(self, context: DocumentContext, search: KeySearch) -> OnecDocument | None:
        """After an attempt whose outcome is unknown: the document carrying exactly this key, if any."""
        ...

    def read(self, context: DocumentContext, ref_key: str, external_key: str) -> OnecDocument | None:
        """The document the ledger knows; None when it is gone (deleted or marked for deletion)."""
        ...

    def create(
        self, context: DocumentContext, organization: Organization, draft: InvoiceDraft, now: datetime
    ) -> OnecDocument: ...

    def update(
        self, context: DocumentContext, document: OnecDocument, organization: Organization, draft: InvoiceDraft
    ) -> OnecDocument: ...


def check_vat_rates(schema: OnecSchema, draft: InvoiceDraft) -> None:
    """Never a silent 20 %: a rate the base does not know is a set-up problem to fix in 1C."""
    for line in draft.lines:
        if schema.lacks_vat_rate(line.vat_rate.value):
            raise OnecSetupError(
                f"1C has no VAT rate {line.vat_rate.value} (row {line.line_number}): this 1C:Accounting release "
                "predates it; update the configuration to a release that has the 2026 rates"
            )


def _header(context: DocumentContext, organization: Organization, draft: InvoiceDraft) -> dict[str, Any]:
    counterparty = context.catalogs.counterparty(draft.buyer)
    header: dict[str, Any] = {
        "Организация_Key": organization.ref_key,
        "Контрагент_Key": counterparty,
        "ВалютаДокумента_Key": context.catalogs.currency(draft.currency_code),
        "СуммаВключаетНДС": draft.amounts_include_vat,
        # titles and URLs are user text: neutralised, they can never form the marker that ends the comment
        "Комментарий": f"{_comment(context, draft)} {key_marker(draft.external_key)}",
    }
    contract = context.catalogs.buyer_contract(counterparty, organization.ref_key)
    if contract is not None:
        header["ДоговорКонтрагента_Key"] = contract
    return header


def _posting_fields(context: DocumentContext, load: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """What BP needs to post (`onec.posting`). A draft gets what the base has; when posting is configured and
    the base lacks it, the deal waits for the set-up (`OnecSetupError`) and `doctor` says what to add."""
    try:
        return load()
    except PostingSetupMissing as exc:
        if context.post:
            raise OnecSetupError(f"posting is configured (OnecPostDocuments=true) but {exc}") from exc
        return {}


def _posted_if_configured(
    context: DocumentContext, entity_set: str, document: OnecDocument | None
) -> OnecDocument | None:
    """An earlier attempt may have stopped between writing the document and posting it (BP refused the posting,
    or the answer was lost): with posting configured, post it now; a refusal again carries BP's reasons."""
    if document is not None and context.post and not document.posted:
        context.client.post_document(entity_set, document.ref_key)
        return document.model_copy(update={"posted": True})
    return document


def _comment(context: DocumentContext, draft: InvoiceDraft) -> str:
    """Says it is a draft from Bitrix24 and which deal (or invoice) it came from, with its link."""
    text = t(
        Msg.ONEC_DOCUMENT_COMMENT,
        entity=draft.source_entity,
        title=neutral(draft.source_title),
        url=neutral(draft.source_url),
    )
    return render(text, context.language)


def _amounts(line: InvoiceLine) -> dict[str, Any]:
    return {
        "LineNumber": str(line.line_number),
        "Количество": line.quantity,
        "Цена": line.price,
        "Сумма": line.amount,
        "СтавкаНДС": line.vat_rate.value,
        "СуммаНДС": line.vat_amount,
    }


def _timestamp(now: datetime) -> str:
    return now.replace(tzinfo=None, microsecond=0).isoformat()


class BuyerInvoiceProfile:
    name = "buyer_invoice"
    entity_sets = (*CATALOGS, BUYER_INVOICES)
    primary_set = BUYER_INVOICES

    def find(self, context: DocumentContext, search: KeySearch) -> OnecDocument | None:
        return _posted_if_configured(context, BUYER_INVOICES, find_by_key(context.client, BUYER_INVOICES, search))

    def read(self, context: DocumentContext, ref_key: str, external_key: str) -> OnecDocument | None:
        return read_by_ref(context.client, BUYER_INVOICES, ref_key)

    def create(
        self, context: DocumentContext, organization: Organization, draft: InvoiceDraft, now: datetime
    ) -> OnecDocument:
        body = {"Date": _timestamp(now), **self._body(context, organization, draft)}
        document = OnecDocument.model_validate(context.client.create(BUYER_INVOICES, body))
        if context.post:
            context.client.post_document(BUYER_INVOICES, document.ref_key)
        return document

    def update(
        self, context: DocumentContext, document: OnecDocument, organization: Organization, draft: InvoiceDraft
    ) -> OnecDocument:
        body = self._body(context, organization, draft)
        answer = context.client.update(BUYER_INVOICES, document.ref_key, body, data_version=document.data_version)
        return OnecDocument.model_validate(answer)

    def _body(self, context: DocumentContext, organization: Organization, draft: InvoiceDraft) -> dict[str, Any]:
        check_vat_rates(context.schema, draft)
        reference = context.schema.item_reference(BUYER_INVOICES)
        return {
            "ВидОперации": "ТоварыИУслуги",
            **_header(context, organization, draft),
            "ОрганизацияПолучатель_Key": organization.ref_key,  # the payee; BP checks it when posting
            **_posting_fields(
                context, lambda: {"СтруктурнаяЕдиница_Key": context.catalogs.posting.bank_account(organization.ref_key)}
            ),
            "КурсВзаиморасчетов": 1,
            "КратностьВзаиморасчетов": 1,
            "СуммаДокумента": draft.total,
            "Товары": [self._line(context.catalogs, line, reference) for line in draft.lines],
        }

    @staticmethod
    def _line(catalogs: CatalogResolver, line: InvoiceLine, reference: ItemReference) -> dict[str, Any]:
        row = _amounts(line)
        if not line.product_code:
            row["Содержание"] = line.description[:1000]
        elif reference is ItemReference.COMPOSITE:
            row["Номенклатура"] = catalogs.nomenclature(line.product_code)
            row["Номенклатура_Type"] = NOMENCLATURE_TYPE
        else:
            row["Номенклатура_Key"] = catalogs.nomenclature(line.product_code)
        return row


class SaleAndTaxInvoiceProfile:
    """A sale (РеализацияТоваровУслуг) and the tax invoice issued on it (СчетФактураВыданный, НаРеализацию)."""

    name = "sale_and_tax_invoice"
    entity_sets = (*CATALOGS, SALES, TAX_INVOICES)
    primary_set = SALES

    def find(self, context: DocumentContext, search: KeySearch) -> OnecDocument | None:
        sale = _posted_if_configured(context, SALES, find_by_key(context.client, SALES, search))
        if sale is not None:
            self._finish(context, sale, search.external_key)
        return sale

    def read(self, context: DocumentContext, ref_key: str, external_key: str) -> OnecDocument | None:
        sale = read_by_ref(context.client, SALES, ref_key)
        if sale is not None:
            self._finish(context, sale, external_key)
        return sale

    def _finish(self, context: DocumentContext, sale: OnecDocument, external_key: str) -> None:
        """An earlier attempt may have stopped between the two documents: issue the missing tax invoice."""
        if find_by_key(context.client, TAX_INVOICES, tax_invoice_search(sale, external_key)) is None:
            self._tax_invoice(context, sale, external_key, sale.comment)

    def create(
        self, context: DocumentContext, organization: Organization, draft: InvoiceDraft, now: datetime
    ) -> OnecDocument:
        body = {"Date": _timestamp(now), **self._body(context, organization, draft)}
        sale = OnecDocument.model_validate(context.client.create(SALES, body))
        if context.post:  # the sale first: the tax invoice is issued on a posted sale
            context.client.post_document(SALES, sale.ref_key)
        self._tax_invoice(context, sale, draft.external_key, body["Комментарий"], body)
        return sale

    def update(
        self, context: DocumentContext, document: OnecDocument, organization: Organization, draft: InvoiceDraft
    ) -> OnecDocument:
        body = self._body(context, organization, draft)
        return OnecDocument.model_validate(
            context.client.update(SALES, document.ref_key, body, data_version=document.data_version)
        )

    def _body(self, context: DocumentContext, organization: Organization, draft: InvoiceDraft) -> dict[str, Any]:
        check_vat_rates(context.schema, draft)
        goods = [line for line in draft.lines if line.product_code]
        services = [line for line in draft.lines if not line.product_code]
        posting = context.catalogs.posting
        goods_accounts = _posting_fields(context, lambda: posting.accounts(GOODS_LINE_ACCOUNTS))
        service_accounts = _posting_fields(context, lambda: posting.accounts(SERVICE_LINE_ACCOUNTS))
        return {
            "ВидОперации": "Товары" if not services else "ПродажаКомиссия" if goods else "Услуги",
            **_header(context, organization, draft),
            **_posting_fields(context, lambda: posting.accounts(SALE_HEADER_ACCOUNTS)),
            **(_posting_fields(context, lambda: {"Склад_Key": posting.warehouse()}) if goods else {}),
            "СуммаДокумента": draft.total,
            "Товары": [
                {**self._goods_line(context.catalogs, index, line), **goods_accounts}
                for index, line in enumerate(goods, 1)
            ],
            "Услуги": [
                {**self._service_line(index, line), **service_accounts} for index, line in enumerate(services, 1)
            ],
        }

    @staticmethod
    def _tax_invoice(
        context: DocumentContext,
        sale: OnecDocument,
        external_key: str,
        comment: str,
        header: dict[str, Any] | None = None,
    ) -> None:
        sale_fields = header or context.client.get(
            SALES, sale.ref_key, select=("Организация_Key", "Контрагент_Key", "ДоговорКонтрагента_Key")
        )
        body: dict[str, Any] = {
            "Date": sale.date,
            "ВидСчетаФактуры": "НаРеализацию",
            "Организация_Key": sale_fields["Организация_Key"],
            "Контрагент_Key": sale_fields["Контрагент_Key"],
            "ДокументОснование": sale.ref_key,
            "ДокументОснование_Type": f"StandardODATA.{SALES}",
            "ДокументыОснования": [
                {
                    "LineNumber": "1",
                    "ДокументОснование": sale.ref_key,
                    "ДокументОснование_Type": f"StandardODATA.{SALES}",
                }
            ],
            "Комментарий": comment
            if marker_of(comment) == external_key
            else f"{neutral(comment)} {key_marker(external_key)}",
        }
        if sale_fields.get("ДоговорКонтрагента_Key"):
            body["ДоговорКонтрагента_Key"] = sale_fields["ДоговорКонтрагента_Key"]
        tax_invoice = OnecDocument.model_validate(context.client.create(TAX_INVOICES, body))
        if context.post:
            context.client.post_document(TAX_INVOICES, tax_invoice.ref_key)

    @staticmethod
    def _goods_line(catalogs: CatalogResolver, number: int, line: InvoiceLine) -> dict[str, Any]:
        return {
            **_amounts(line),
            "LineNumber": str(number),
            "Номенклатура_Key": catalogs.nomenclature(line.product_code),
        }

    @staticmethod
    def _service_line(number: int, line: InvoiceLine) -> dict[str, Any]:
        return {**_amounts(line), "LineNumber": str(number), "Содержание": line.description[:1000]}


PROFILES: dict[str, DocumentProfile] = {
    BuyerInvoiceProfile.name: BuyerInvoiceProfile(),
    SaleAndTaxInvoiceProfile.name: SaleAndTaxInvoiceProfile(),
}
