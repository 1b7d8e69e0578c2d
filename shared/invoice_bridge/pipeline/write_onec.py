"""Step 4, write to 1C: the deal's document found, created or updated — the lease says which may exist — and an
unposted draft marked when its deal leaves the trigger. Before a batch's messages, the references their
documents need (counterparties, contracts, items) are looked up several at a time. Every call to 1C is admitted
by, and reported to, the 1C base's circuit breaker."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from invoice_bridge.bitrix24.snapshot import DealSnapshot, Snapshots
from invoice_bridge.breaker import Breaker
from invoice_bridge.events import QueueMessage
from invoice_bridge.invoice.mapping import map_deal
from invoice_bridge.invoice.model import InvoiceDraft
from invoice_bridge.ledger.records import LedgerRecord
from invoice_bridge.messages import Msg, render, t
from invoice_bridge.observability import logger
from invoice_bridge.onec.catalogs import CatalogResolver, OnecSetupError
from invoice_bridge.onec.client import ODataClient, ODataError
from invoice_bridge.onec.document_keys import OnecDocument, neutral, read_by_ref, search_since
from invoice_bridge.onec.documents import DocumentContext, DocumentProfile
from invoice_bridge.onec.schema import MetadataError, OnecSchema, assumed_schema, parse_metadata
from invoice_bridge.pipeline.claim import Lease
from invoice_bridge.pipeline.decide import identity, is_trigger, seller_inn
from invoice_bridge.pipeline.outcome import OutcomeKind, TransientFailure
from invoice_bridge.pipeline.rules import ProcessorRules


@dataclass
class OnecWriter:
    onec: ODataClient
    catalogs: CatalogResolver
    profile: DocumentProfile
    rules: ProcessorRules
    now: Callable[[], datetime]
    breaker: Breaker | None = None  # set per invocation: the 1C base's circuit breaker
    _schema: OnecSchema | None = field(default=None, repr=False)

    def schema(self) -> OnecSchema:
        """Read once per cold start: which sets are published, the line shape, the VAT rates of this release."""
        if self._schema is None:
            try:
                self._schema = parse_metadata(self.onec.metadata())
            except ODataError as exc:
                if exc.transient or exc.status in (401, 403):  # a refused login is retried, not assumed away
                    raise
                logger.warning("1C $metadata refused; assuming release 3.0.198 shapes", extra={"error": str(exc)})
                self._schema = assumed_schema(self.profile.entity_sets)
            except MetadataError as exc:
                logger.warning("1C $metadata unreadable; assuming release 3.0.198 shapes", extra={"error": str(exc)})
                self._schema = assumed_schema(self.profile.entity_sets)
        return self._schema

    def context(self) -> DocumentContext:
        context = DocumentContext(
            self.onec, self.catalogs, self.schema(), post=self.rules.post_documents, language=self.rules.language
        )
        if missing := context.schema.missing(self.profile.entity_sets):
            raise OnecSetupError(
                f"1C does not publish {', '.join(missing)} over OData: add them to the OData composition "
                "(Администрирование → Синхронизация данных → Настройка стандартного интерфейса OData)"
            )
        return context

    def admit(self) -> None:
        """Raises while the breaker is open: 1C is not called until its next probe."""
        if self.breaker is not None and (probe_at := self.breaker.admit()) is not None:
            raise TransientFailure("1C is failing: circuit open, not called", not_before=probe_at)

    def answered(self) -> None:
        if self.breaker is not None:
            self.breaker.succeeded()

    def failed(self) -> None:
        """A real call that failed: it counts towards opening the breaker."""
        if self.breaker is not None:
            self.breaker.failed()

    def prefetch(self, messages: Sequence[QueueMessage], snapshots: Snapshots) -> None:
        """Before the messages are handled one by one: what their 1C documents need (counterparties, contracts,
        items), looked up several at a time. Optional: on any failure each deal looks up its own."""
        if self.breaker is not None and not self.breaker.closed():
            return
        by_seller: dict[str, list[InvoiceDraft]] = {}
        for message in messages:
            snapshot = snapshots.get((message.entity_type, message.entity_id))
            if message.write_back is not None or not isinstance(snapshot, DealSnapshot):
                continue
            if not is_trigger(self.rules, snapshot.deal):
                continue
            mapped = map_deal(snapshot, identity(message), self.now().date())
            if isinstance(mapped, InvoiceDraft):
                by_seller.setdefault(seller_inn(snapshot) or self.rules.organization_inn, []).append(mapped)
        try:
            by_organization: dict[str, list[InvoiceDraft]] = {}
            for inn, drafts in by_seller.items():
                by_organization.setdefault(self.catalogs.organization(inn).ref_key, []).extend(drafts)
            for organization_key, drafts in by_organization.items():
                codes = (line.product_code for draft in drafts for line in draft.lines)
                self.catalogs.prefetch((draft.buyer for draft in drafts), codes, organization_key)
        except (ODataError, OnecSetupError) as exc:
            if isinstance(exc, ODataError) and exc.transient:
                self.failed()
            logger.info("batched 1C look-up failed; each deal looks up its own", extra={"error": str(exc)})

    def write(self, draft: InvoiceDraft, seller_inn: str, lease: Lease) -> tuple[OnecDocument, OutcomeKind]:
        """Find-or-create, with the ledger as the first truth: a document it knows is read by its Ref_Key; only
        after an attempt whose outcome is unknown is 1C looked up by key; a deal with neither is created."""
        context = self.context()
        organization = self.catalogs.organization(seller_inn or self.rules.organization_inn)
        document: OnecDocument | None = None
        if lease.known_ref:
            document = self.profile.read(context, lease.known_ref, draft.external_key)
        elif lease.unknown_since is not None:
            counterparty = self.catalogs.counterparty(draft.buyer)
            search = search_since(lease.unknown_since, self.now().tzinfo, draft.external_key, counterparty)
            document = self.profile.find(context, search)
            logger.info(
                "earlier attempt's outcome unknown: 1C looked up by key",
                extra={"since": search.since.isoformat(), "found": document is not None},
            )
        if document is None:
            try:
                return self.profile.create(context, organization, draft, self.now()), OutcomeKind.CREATED
            except BaseException:
                if lease.unknown_since is None:
                    lease.create_outcome_unknown()
                raise
        if document.posted:
            return document, OutcomeKind.CHANGED_AFTER_POSTING if lease.known_ref else OutcomeKind.FOUND
        # an unposted draft always gets the current content: an earlier attempt may have stopped mid-way
        document = self.profile.update(context, document, organization, draft)
        return document, OutcomeKind.UPDATED if lease.known_ref else OutcomeKind.FOUND

    def mark_withdrawn(self, message: QueueMessage, previous: LedgerRecord, stage: str) -> None:
        """An unposted draft gets a comment or the deletion mark (`on_leaving_trigger`); a posted document is
        left to the accountant. A failure is logged: the manager is told all the same."""
        note = t(Msg.ONEC_WITHDRAWN_NOTE, entity=message.entity_type, stage=neutral(stage))
        try:
            # the document the ledger knows, read plainly: withdrawing must not finish a half-made document set
            document = read_by_ref(self.onec, self.profile.primary_set, previous.onec_ref_key)
            if document is not None and not document.posted:
                change: dict[str, Any] = (
                    {"DeletionMark": True}
                    if self.rules.on_leaving_trigger == "deletion_mark"
                    else {"Комментарий": f"{render(note, self.rules.language)} {document.comment}"}
                )
                self.onec.update(self.profile.primary_set, document.ref_key, change, data_version=document.data_version)
        except ODataError as exc:
            logger.error("could not mark the withdrawn 1C document", extra={"error": str(exc)})
