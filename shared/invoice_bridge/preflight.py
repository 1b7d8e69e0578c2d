"""Pre-flight: a deal (or new invoice) in a stage before the trigger (`PreflightStageIds`) is checked the way the
trigger would check it — the same validation, then 1C's references looked up: organisation, counterparty, items,
currency and the VAT rates of the base's release — with nothing written to 1C. The manager is told once per
content: ready for invoicing, or the numbered list of what to fix (processor.py comments; the ledger remembers
what was told)."""

from __future__ import annotations

import hashlib

from invoice_bridge.invoice.model import InvoiceDraft
from invoice_bridge.messages import Msg, Text, t
from invoice_bridge.onec.catalogs import CatalogResolver, ReferenceNotFound, no_counterparty
from invoice_bridge.onec.schema import OnecSchema


def onec_problems(
    catalogs: CatalogResolver,
    schema: OnecSchema,
    draft: InvoiceDraft,
    organization_inn: str,
    *,
    counterparty_created: bool,
) -> list[Text]:
    """What 1C would refuse, read-only. 1C's own set-up problems (no organisation, no currency, an unpublished
    set) raise `OnecSetupError`: they are the administrator's, as on the trigger."""
    catalogs.organization(organization_inn)
    catalogs.currency(draft.currency_code)
    problems: list[Text] = []
    if not counterparty_created and catalogs.find_counterparty(draft.buyer) is None:
        problems.append(no_counterparty(draft.buyer.inn, draft.buyer.kpp))
    for line in draft.lines:
        place = t(Msg.ROW_NAMED, number=line.line_number, name=line.description)
        if line.product_code:
            try:
                catalogs.nomenclature(line.product_code)
            except ReferenceNotFound as exc:
                problems.append(t(Msg.ROW_ITEM_NOT_IN_1C, place=place, problem=exc.text))
        if schema.lacks_vat_rate(line.vat_rate.value):
            problems.append(t(Msg.PREFLIGHT_VAT_RATE_MISSING, number=line.line_number, rate=line.vat_rate))
    return problems


def told_hash(comment: Text) -> str:
    """Identifies what the manager was told (its English words: the same whatever the language)."""
    return hashlib.sha256(str(comment).encode()).hexdigest()
