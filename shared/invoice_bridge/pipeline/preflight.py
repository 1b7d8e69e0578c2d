"""Pre-flight: a deal (or new invoice) in a stage before the trigger (`PreflightStageIds`) is checked the way the
trigger would check it — the same validation, then 1C's references looked up: organisation, counterparty, items,
currency and the VAT rates of the base's release — with nothing written to 1C. The manager is told once per
content: ready for invoicing, or the numbered list of what to fix (the ledger remembers what was told). The branch
of the pipeline `decide` sends such a deal to, instead of claim and write."""

from __future__ import annotations

import hashlib

from invoice_bridge.comments import preflight_comment
from invoice_bridge.events import QueueMessage
from invoice_bridge.invoice.model import InvoiceDraft
from invoice_bridge.ledger.deals import Ledger
from invoice_bridge.messages import Msg, Text, t
from invoice_bridge.observability import logger, metrics
from invoice_bridge.onec.catalogs import CatalogResolver, OnecSetupError, ReferenceNotFound, no_counterparty
from invoice_bridge.onec.client import ODataError
from invoice_bridge.onec.schema import OnecSchema
from invoice_bridge.pipeline.decide import Preflight
from invoice_bridge.pipeline.outcome import Outcome, OutcomeKind, TransientFailure
from invoice_bridge.pipeline.tell_bitrix24 import Bitrix24Outbox
from invoice_bridge.pipeline.write_onec import OnecWriter


def preflight(
    message: QueueMessage, check: Preflight, onec: OnecWriter, ledger: Ledger, outbox: Bitrix24Outbox
) -> Outcome:
    """The trigger's validation and 1C look-ups, nothing written; one comment per content."""
    problems = list(check.problems)
    if check.draft is not None:
        onec.admit()
        try:
            problems = onec_problems(
                onec.catalogs,
                onec.context().schema,
                check.draft,
                check.seller_inn or onec.rules.organization_inn,
                counterparty_created=onec.catalogs.creates_counterparties,
            )
        except OnecSetupError as exc:  # the administrator's, alarmed when the trigger meets it
            logger.warning("pre-flight: 1C set-up problem; the manager is not told", extra={"problem": str(exc)})
            return Outcome(OutcomeKind.SKIPPED, f"pre-flight: 1C set-up: {exc}")
        except ODataError as exc:
            if exc.transient:
                onec.failed()
                raise TransientFailure(str(exc)) from exc
            logger.warning("pre-flight: 1C refused a look-up", extra={"error": exc.explain()})
            return Outcome(OutcomeKind.SKIPPED, f"pre-flight: 1C refused: {exc.explain()}")
        onec.answered()
    comment = preflight_comment(message.entity_type, check.draft, problems)
    if not ledger.note_preflight(message.ledger_key, told_hash(comment)):
        return Outcome(OutcomeKind.DUPLICATE, "pre-flight: the manager was told this before")
    metrics.add_metric(name="PreflightChecks", unit="Count", value=1)
    outbox.comment(message, comment)
    return Outcome(OutcomeKind.PREFLIGHT, "; ".join(map(str, problems)) or "ready for invoicing")


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
