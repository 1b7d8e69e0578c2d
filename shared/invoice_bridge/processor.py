"""The processor's logic for one queued deal: trigger check, validation, ledger claim, 1C draft, write-back."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from invoice_bridge.bitrix24.client import MAX_BATCH_COMMANDS, Bitrix24Client, Bitrix24Error
from invoice_bridge.bitrix24.records import DealRecord
from invoice_bridge.bitrix24.snapshot import (
    DealSnapshot,
    SnapshotCaches,
    SnapshotError,
    Snapshots,
    read_snapshots,
)
from invoice_bridge.events import EntityType, QueueMessage
from invoice_bridge.invoice.mapping import DealIdentity, Rejection, map_deal
from invoice_bridge.invoice.model import InvoiceDraft
from invoice_bridge.ledger import Ledger, LedgerRecord, LedgerStatus
from invoice_bridge.observability import logger, metrics
from invoice_bridge.onec.catalogs import CatalogResolver, ReferenceNotFound
from invoice_bridge.onec.client import ODataClient, ODataError
from invoice_bridge.onec.documents import BuyerInvoiceProfile, DocumentContext, DocumentProfile, OnecDocument
from invoice_bridge.onec.schema import MetadataError, OnecSchema, assumed_schema, parse_metadata

_URL_PATHS = {EntityType.DEAL: "deal/details", EntityType.INVOICE: "type/31/details"}
# "smart_invoice" for new invoices is not documented for crm.timeline.comment.add (reference/bitrix24.md §2.7).
_TIMELINE_TYPES = {EntityType.DEAL: "deal", EntityType.INVOICE: "smart_invoice"}


class TransientFailure(RuntimeError):
    """Try this message again later (SQS redelivers it; after maxReceiveCount it goes to the DLQ)."""


class OutcomeKind(StrEnum):
    CREATED = "created"  # a new draft in 1C
    FOUND = "found"  # the draft already existed in 1C (an earlier attempt created it)
    DUPLICATE = "duplicate"  # nothing to do: the same content was handled before
    REJECTED = "rejected"
    SKIPPED = "skipped"  # not in a trigger stage, or not something the bridge invoices


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    detail: str


@dataclass(frozen=True)
class ProcessorRules:
    trigger_stage_ids: tuple[str, ...]
    organization_inn: str
    lease_seconds: int
    writeback_field: str = ""  # a deal UF field that receives the 1C document number
    post_documents: bool = False  # post what is created instead of leaving drafts for review


@dataclass
class InvoicePipeline:
    bitrix: Bitrix24Client
    onec: ODataClient
    catalogs: CatalogResolver
    ledger: Ledger
    caches: SnapshotCaches
    rules: ProcessorRules
    now: Callable[[], datetime]
    profile: DocumentProfile = field(default_factory=BuyerInvoiceProfile)
    outbox: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _schema: OnecSchema | None = None

    def schema(self) -> OnecSchema:
        """Read once per cold start: which sets are published, the line shape, the VAT rates of this release."""
        if self._schema is None:
            try:
                self._schema = parse_metadata(self.onec.metadata())
            except ODataError as exc:
                if exc.transient:
                    raise
                logger.warning("1C $metadata refused; assuming release 3.0.198 shapes", extra={"error": str(exc)})
                self._schema = assumed_schema(self.profile.entity_sets)
            except MetadataError as exc:
                logger.warning("1C $metadata unreadable; assuming release 3.0.198 shapes", extra={"error": str(exc)})
                self._schema = assumed_schema(self.profile.entity_sets)
        return self._schema

    def read_snapshots(self, messages: Sequence[QueueMessage]) -> Snapshots:
        keys = [(m.entity_type, m.entity_id) for m in messages]
        if not keys:
            return {}
        try:
            return read_snapshots(self.bitrix, keys, self.caches)
        except Bitrix24Error as exc:
            failure = SnapshotError(str(exc), transient=exc.transient)
            return dict.fromkeys(keys, failure)
        finally:
            metrics.add_metric(name="Bitrix24Requests", unit="Count", value=self.bitrix.request_count)
            logger.append_keys(bitrix24_requests=self.bitrix.request_count)

    def process(self, message: QueueMessage, snapshot: DealSnapshot | SnapshotError | None) -> Outcome:
        kind = message.entity_type.value
        if snapshot is None:
            raise TransientFailure(f"{kind} {message.entity_id} was not read from Bitrix24")
        if isinstance(snapshot, SnapshotError):
            if snapshot.transient:
                raise TransientFailure(str(snapshot))
            return Outcome(OutcomeKind.SKIPPED, str(snapshot))
        if not self._is_trigger(snapshot.deal):
            return Outcome(OutcomeKind.SKIPPED, f"stage {snapshot.deal.STAGE_ID} is not a trigger stage")

        identity = DealIdentity(
            ledger_key=message.ledger_key,
            external_key=f"b24:{message.member_id}:{kind}:{message.entity_id}",
            url=f"https://{message.domain}/crm/{_URL_PATHS[message.entity_type]}/{message.entity_id}/",
        )
        mapped = map_deal(snapshot, identity, self.now().date())
        previous = self.ledger.get(message.ledger_key)
        if previous is not None and previous.status is LedgerStatus.CREATED:
            return self._already_created(previous, mapped)
        if isinstance(mapped, Rejection):
            return self._reject(message, previous, mapped.problems, owner="")
        seller_inn = snapshot.seller.RQ_INN if snapshot.seller is not None else ""
        return self._create(message, previous, mapped, seller_inn)

    def _is_trigger(self, deal: DealRecord) -> bool:
        if self.rules.trigger_stage_ids:
            return deal.STAGE_ID in self.rules.trigger_stage_ids
        return deal.STAGE_SEMANTIC_ID == "S"

    def _already_created(self, record: LedgerRecord, draft: InvoiceDraft | Rejection) -> Outcome:
        if isinstance(draft, InvoiceDraft) and record.content_hash == draft.content_hash():
            return Outcome(OutcomeKind.DUPLICATE, f"1C document {record.onec_number} exists for this content")
        logger.warning(
            "deal changed after its 1C draft was created; the draft is left as it is",
            extra={"ledger_key": record.pk, "onec_number": record.onec_number},
        )
        metrics.add_metric(name="ChangedAfterInvoicing", unit="Count", value=1)
        return Outcome(OutcomeKind.DUPLICATE, f"deal changed after 1C document {record.onec_number}; not updated")

    def _create(
        self, message: QueueMessage, previous: LedgerRecord | None, draft: InvoiceDraft, seller_inn: str
    ) -> Outcome:
        owner = uuid.uuid4().hex
        key = message.ledger_key
        if not self.ledger.claim(
            key, owner=owner, content_hash=draft.content_hash(), lease_seconds=self.rules.lease_seconds
        ):
            current = self.ledger.get(key)
            if current is not None and current.status is LedgerStatus.CREATED:
                return self._already_created(current, draft)
            raise TransientFailure(f"{key} is being processed by another worker")
        try:
            # the seller chosen in Bitrix24 picks the 1C organisation; the configured one is the fallback
            context = DocumentContext(self.onec, self.catalogs, self.schema(), post=self.rules.post_documents)
            if missing := context.schema.missing(self.profile.entity_sets):
                raise ReferenceNotFound(
                    f"1C does not publish {', '.join(missing)} over OData: add them to the OData composition "
                    "(Администрирование → Синхронизация данных → Настройка стандартного интерфейса OData)"
                )
            organization = self.catalogs.organization(seller_inn or self.rules.organization_inn)
            document = self.profile.find(context, draft.external_key)
            kind = OutcomeKind.FOUND
            if document is None:
                document = self.profile.create(context, organization, draft, self.now())
                kind = OutcomeKind.CREATED
        except ReferenceNotFound as exc:
            return self._reject(message, previous, (str(exc),), owner=owner)
        except ODataError as exc:
            if exc.transient:
                self.ledger.release(key, owner=owner, error=str(exc))
                raise TransientFailure(str(exc)) from exc
            return self._reject(message, previous, (f"1C refused the invoice: {exc.explain()}",), owner=owner)
        except BaseException as exc:
            self.ledger.release(key, owner=owner, error=f"{type(exc).__name__}: {exc}")
            raise
        self.ledger.mark_created(
            key,
            owner=owner,
            ref_key=document.ref_key,
            number=document.number,
            total=f"{draft.total:.2f}",
            vat_total=f"{draft.vat_total:.2f}",
        )
        metrics.add_metric(
            name="InvoicesCreated" if kind is OutcomeKind.CREATED else "InvoicesFound", unit="Count", value=1
        )
        logger.info("1C draft ready", extra={"ledger_key": key, "onec_number": document.number, "outcome": kind})
        self._comment(message, _created_comment(document, draft))
        if self.rules.writeback_field and message.entity_type is EntityType.DEAL:
            # The update fires ONCRMDEALUPDATE; the deal's content is unchanged, so that event ends as a duplicate.
            self.outbox.append(
                (
                    "crm.deal.update",
                    {
                        "id": message.entity_id,
                        "fields": {self.rules.writeback_field: document.number},
                        "params": {"REGISTER_SONET_EVENT": "N"},
                    },
                )
            )
        return Outcome(kind, f"1C {document.number}: {draft.total:.2f} incl. VAT {draft.vat_total:.2f}")

    def _reject(
        self, message: QueueMessage, previous: LedgerRecord | None, problems: tuple[str, ...], *, owner: str
    ) -> Outcome:
        reasons_hash = hashlib.sha256("\n".join(problems).encode()).hexdigest()
        recorded = self.ledger.mark_rejected(
            message.ledger_key, content_hash=reasons_hash, reasons=problems, owner=owner
        )
        told_before = (
            previous is not None and previous.status is LedgerStatus.REJECTED and previous.content_hash == reasons_hash
        )
        detail = "; ".join(problems)
        if not recorded or told_before:
            return Outcome(OutcomeKind.REJECTED, detail)
        metrics.add_metric(name="DealsRejected", unit="Count", value=1)
        logger.info("deal rejected", extra={"ledger_key": message.ledger_key, "reasons": list(problems)})
        numbered = "\n".join(f"{index}. {problem}" for index, problem in enumerate(problems, start=1))
        self._comment(message, f"The 1C invoice draft was not created. Fix this and save the deal again:\n{numbered}")
        return Outcome(OutcomeKind.REJECTED, detail)

    def _comment(self, message: QueueMessage, text: str) -> None:
        """Queued, not sent: `flush_write_backs` sends every comment of the SQS batch in one request."""
        self.outbox.append(
            (
                "crm.timeline.comment.add",
                {
                    "fields": {
                        "ENTITY_ID": message.entity_id,
                        "ENTITY_TYPE": _TIMELINE_TYPES[message.entity_type],
                        "COMMENT": text,
                    }
                },
            )
        )

    def flush_write_backs(self) -> None:
        """The outcome is already in the ledger, so a write-back that fails is logged and counted, not retried."""
        pending, self.outbox = self.outbox, []
        for start in range(0, len(pending), MAX_BATCH_COMMANDS):
            chunk = pending[start : start + MAX_BATCH_COMMANDS]
            commands = {f"write_back_{start + index}": command for index, command in enumerate(chunk)}
            try:
                failed = len(self.bitrix.batch(commands).errors)
            except Bitrix24Error as exc:
                failed = len(commands)
                logger.error("timeline comments failed; the outcomes stand", extra={"error": str(exc)})
            if failed:
                metrics.add_metric(name="WriteBackFailures", unit="Count", value=failed)


def _created_comment(document: OnecDocument, draft: InvoiceDraft) -> str:
    return (
        f"Draft invoice {document.number} of {draft.document_date:%d.%m.%Y} is in 1C for review: "
        f"{draft.total:.2f} {(draft.currency_code == '643' and 'RUB') or draft.currency_code}, "
        f"VAT {draft.vat_total:.2f}. The accountant will check and post it."
    )
