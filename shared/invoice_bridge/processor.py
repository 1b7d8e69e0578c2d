"""The processor's logic for one queued deal: trigger check, validation, ledger claim, 1C draft, write-back."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, NoReturn

from invoice_bridge import clock
from invoice_bridge.bitrix24.client import MAX_BATCH_COMMANDS, Bitrix24Client, Bitrix24Error
from invoice_bridge.bitrix24.records import DealRecord
from invoice_bridge.bitrix24.snapshot import (
    TRANSIENT_COMMAND_ERRORS,
    DealSnapshot,
    SnapshotCaches,
    SnapshotError,
    Snapshots,
    read_snapshots,
)
from invoice_bridge.breaker import Breaker
from invoice_bridge.comments import (
    document_comment,
    document_date_of,
    preflight_comment,
    rejected_comment,
    withdrawn_comment,
)
from invoice_bridge.events import EntityType, QueueMessage, WriteBack
from invoice_bridge.invoice.mapping import DealIdentity, Rejection, map_deal
from invoice_bridge.invoice.model import InvoiceDraft
from invoice_bridge.ledger import DOCUMENT_STATES, Ledger, LedgerRecord, LedgerStatus
from invoice_bridge.messages import Language, Msg, Text, render, t
from invoice_bridge.observability import logger, metrics
from invoice_bridge.onec.catalogs import CatalogResolver, OnecSetupError, ReferenceNotFound
from invoice_bridge.onec.client import ODataClient, ODataError
from invoice_bridge.onec.document_keys import OnecDocument, neutral, read_by_ref, search_since
from invoice_bridge.onec.documents import BuyerInvoiceProfile, DocumentContext, DocumentProfile
from invoice_bridge.onec.navigation import document_link
from invoice_bridge.onec.schema import MetadataError, OnecSchema, assumed_schema, parse_metadata
from invoice_bridge.preflight import onec_problems, told_hash

_URL_PATHS = {EntityType.DEAL: "deal/details", EntityType.INVOICE: "type/31/details"}


def _identity(message: QueueMessage) -> DealIdentity:
    return DealIdentity(
        ledger_key=message.ledger_key,
        external_key=message.external_key,
        url=f"https://{message.domain}/crm/{_URL_PATHS[message.entity_type]}/{message.entity_id}/",
        entity=message.entity_type,
    )


# "smart_invoice" for new invoices is not documented for crm.timeline.comment.add (reference/bitrix24.md §2.7).
_TIMELINE_TYPES = {EntityType.DEAL: "deal", EntityType.INVOICE: "smart_invoice"}


MAX_WRITE_BACKS = 5  # attempts of one timeline comment or field update before it is dropped (and logged)


class TransientFailure(RuntimeError):
    """Try this message again later (SQS redelivers it; after maxReceiveCount it goes to the DLQ).

    `not_before`: the clock time before which a retry cannot succeed (a lease's end, a breaker's next probe).
    `setup`: 1C's or the secret's set-up holds it — counted by the SetupFailures metric for the alarm."""

    def __init__(self, message: str, *, not_before: float | None = None, setup: bool = False) -> None:
        super().__init__(message)
        self.not_before = not_before
        self.setup = setup


class OutcomeKind(StrEnum):
    CREATED = "created"  # a new draft in 1C
    FOUND = "found"  # the draft already existed in 1C (an earlier attempt created it)
    UPDATED = "updated"  # the deal changed and its unposted draft was updated in place
    CHANGED_AFTER_POSTING = "changed_after_posting"  # the deal changed after posting: 1C left alone, people told
    WITHDRAWN = "withdrawn"  # the deal left the trigger stage after its document was made
    DUPLICATE = "duplicate"  # nothing to do: the same content was handled before
    REJECTED = "rejected"
    SKIPPED = "skipped"  # not in a trigger stage, or not something the bridge invoices
    WRITE_BACK = "write_back"  # a Bitrix24 write retried on its own
    PREFLIGHT = "preflight"  # checked in a stage before the trigger, nothing written to 1C; the manager told


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
    on_leaving_trigger: Literal["comment", "deletion_mark"] = "comment"  # what an unposted draft gets
    sweep_after_seconds: int = 7200  # a deal left RETRYING this long is queued again by the ledger sweep
    language: Language = Language.RU  # of every text managers and accountants read
    onec_web_client_url: str = ""  # comments link to the document in the 1C web client when set
    preflight_stage_ids: tuple[str, ...] = ()  # stages before the trigger where the deal is checked, nothing written


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
    outbox: list[tuple[QueueMessage, WriteBack]] = field(default_factory=list)
    onec_breaker: Breaker | None = None  # set per invocation: the 1C base's circuit breaker
    _schema: OnecSchema | None = None

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

    def read_snapshots(self, messages: Sequence[QueueMessage]) -> Snapshots:
        keys = [(m.entity_type, m.entity_id) for m in messages if m.write_back is None]
        if not keys:
            return {}
        try:
            return read_snapshots(self.bitrix, keys, self.caches)  # a failed request fails only what it carried
        finally:
            # a count, not a log key: a key appended here would stay on every later line of the warm function
            metrics.add_metric(name="Bitrix24Requests", unit="Count", value=self.bitrix.request_count)

    def prefetch(self, messages: Sequence[QueueMessage], snapshots: Snapshots) -> None:
        """Before the messages are handled one by one: what their 1C documents need (counterparties, contracts,
        items), looked up several at a time. Optional: on any failure each deal looks up its own."""
        if self.onec_breaker is not None and not self.onec_breaker.closed():
            return
        by_seller: dict[str, list[InvoiceDraft]] = {}
        for message in messages:
            snapshot = snapshots.get((message.entity_type, message.entity_id))
            if message.write_back is not None or not isinstance(snapshot, DealSnapshot):
                continue
            if not self._is_trigger(snapshot.deal):
                continue
            mapped = map_deal(snapshot, _identity(message), self.now().date())
            if isinstance(mapped, InvoiceDraft):
                seller = snapshot.seller.RQ_INN if snapshot.seller is not None else ""
                by_seller.setdefault(seller or self.rules.organization_inn, []).append(mapped)
        try:
            by_organization: dict[str, list[InvoiceDraft]] = {}
            for inn, drafts in by_seller.items():
                by_organization.setdefault(self.catalogs.organization(inn).ref_key, []).extend(drafts)
            for organization_key, drafts in by_organization.items():
                codes = (line.product_code for draft in drafts for line in draft.lines)
                self.catalogs.prefetch((draft.buyer for draft in drafts), codes, organization_key)
        except (ODataError, OnecSetupError) as exc:
            if isinstance(exc, ODataError) and exc.transient and self.onec_breaker is not None:
                self.onec_breaker.failed()  # a real call that failed: it counts towards opening the breaker
            logger.info("batched 1C look-up failed; each deal looks up its own", extra={"error": str(exc)})

    def process(
        self, message: QueueMessage, snapshot: DealSnapshot | SnapshotError | None, delivery_id: str = ""
    ) -> Outcome:
        """`delivery_id` (the SQS message id) tells a redelivery of a crashed attempt from another copy."""
        if message.write_back is not None:
            self.outbox.append((message, message.write_back))
            return Outcome(OutcomeKind.WRITE_BACK, f"{message.write_back.method}, attempt {message.write_back.attempt}")
        kind = message.entity_type.value
        if snapshot is None:
            raise TransientFailure(f"{kind} {message.entity_id} was not read from Bitrix24")
        if isinstance(snapshot, SnapshotError):
            if snapshot.transient:
                raise TransientFailure(str(snapshot))
            if snapshot.problems:  # Bitrix24 answered, in a shape the manager must hear about
                return self._reject(message, self.ledger.get(message.ledger_key), snapshot.problems, owner="")
            return Outcome(OutcomeKind.SKIPPED, str(snapshot))
        previous = self.ledger.get(message.ledger_key)
        has_document = previous is not None and previous.status in DOCUMENT_STATES
        if not self._is_trigger(snapshot.deal):
            if previous is not None and has_document:
                return self._withdraw(message, previous, snapshot.deal.STAGE_ID)
            if snapshot.deal.STAGE_ID in self.rules.preflight_stage_ids:
                return self._preflight(message, snapshot)
            return Outcome(OutcomeKind.SKIPPED, f"stage {snapshot.deal.STAGE_ID} is not a trigger stage")

        mapped = map_deal(snapshot, _identity(message), self.now().date())
        if previous is not None and has_document:
            if isinstance(mapped, Rejection):
                logger.warning(
                    "deal changed after its 1C document and is now invalid",
                    extra={"reasons": [problem.code for problem in mapped.problems]},
                )
                metrics.add_metric(name="ChangedAfterInvoicing", unit="Count", value=1)
                return Outcome(
                    OutcomeKind.DUPLICATE, f"changed after 1C {previous.onec_number}; invalid now, not applied"
                )
            if previous.content_hash == mapped.content_hash():
                return Outcome(OutcomeKind.DUPLICATE, f"1C document {previous.onec_number} exists for this content")
        if isinstance(mapped, Rejection):
            if mapped.mismatches:
                # the bridge's arithmetic and Bitrix24's own figures disagree: never a silent kopeck
                metrics.add_metric(name="CrossCheckMismatches", unit="Count", value=1)
                logger.warning(
                    "rows disagree with the deal's own totals",
                    extra={"ledger_key": message.ledger_key, "mismatches": list(mapped.mismatches)},
                )
            return self._reject(message, previous, mapped.problems, owner="")
        seller_inn = snapshot.seller.RQ_INN if snapshot.seller is not None else ""
        return self._create(message, previous, mapped, seller_inn, delivery_id)

    def _preflight(self, message: QueueMessage, snapshot: DealSnapshot) -> Outcome:
        """The trigger's validation and 1C look-ups, nothing written; one comment per content (preflight.py)."""
        mapped = map_deal(snapshot, _identity(message), self.now().date())
        draft = mapped if isinstance(mapped, InvoiceDraft) else None
        problems = list(mapped.problems) if isinstance(mapped, Rejection) else []
        if draft is not None:
            if self.onec_breaker is not None and (probe_at := self.onec_breaker.admit()) is not None:
                raise TransientFailure("1C is failing: circuit open, not called", not_before=probe_at)
            seller_inn = snapshot.seller.RQ_INN if snapshot.seller is not None else ""
            try:
                problems = onec_problems(
                    self.catalogs,
                    self._context().schema,
                    draft,
                    seller_inn or self.rules.organization_inn,
                    counterparty_created=self.catalogs.creates_counterparties,
                )
            except OnecSetupError as exc:  # the administrator's, alarmed when the trigger meets it
                logger.warning("pre-flight: 1C set-up problem; the manager is not told", extra={"problem": str(exc)})
                return Outcome(OutcomeKind.SKIPPED, f"pre-flight: 1C set-up: {exc}")
            except ODataError as exc:
                if exc.transient:
                    if self.onec_breaker is not None:
                        self.onec_breaker.failed()
                    raise TransientFailure(str(exc)) from exc
                logger.warning("pre-flight: 1C refused a look-up", extra={"error": exc.explain()})
                return Outcome(OutcomeKind.SKIPPED, f"pre-flight: 1C refused: {exc.explain()}")
            self._onec_answered()
        comment = preflight_comment(message.entity_type, draft, problems)
        if not self.ledger.note_preflight(message.ledger_key, told_hash(comment)):
            return Outcome(OutcomeKind.DUPLICATE, "pre-flight: the manager was told this before")
        metrics.add_metric(name="PreflightChecks", unit="Count", value=1)
        self._comment(message, comment)
        return Outcome(OutcomeKind.PREFLIGHT, "; ".join(map(str, problems)) or "ready for invoicing")

    def _is_trigger(self, deal: DealRecord) -> bool:
        if self.rules.trigger_stage_ids:
            return deal.STAGE_ID in self.rules.trigger_stage_ids
        return deal.STAGE_SEMANTIC_ID == "S"

    def _create(
        self,
        message: QueueMessage,
        previous: LedgerRecord | None,
        draft: InvoiceDraft,
        seller_inn: str,
        delivery_id: str,
    ) -> Outcome:
        if self.onec_breaker is not None and (probe_at := self.onec_breaker.admit()) is not None:
            raise TransientFailure("1C is failing: circuit open, not called", not_before=probe_at)
        owner = uuid.uuid4().hex
        key = message.ledger_key
        started = int(clock.now())
        claimed = self.ledger.claim(
            key,
            owner=owner,
            content_hash=draft.content_hash(),
            lease_seconds=self.rules.lease_seconds,
            delivery_id=delivery_id,
        )
        if claimed is None:
            current = self.ledger.get(key)
            if current is not None and current.status in DOCUMENT_STATES:
                return Outcome(OutcomeKind.DUPLICATE, f"1C document {current.onec_number} exists for this content")
            if (
                current is not None
                and current.status is LedgerStatus.IN_PROGRESS
                and current.lease_expires_at >= int(clock.now())  # as `claim` compares it
            ):
                if current.content_hash == draft.content_hash() and current.lease_delivery not in ("", delivery_id):
                    # another copy holds a live lease for this very content: its message stays queued until it
                    # is done; were that worker dead, its lease expires and the ledger sweep queues the deal
                    return Outcome(OutcomeKind.DUPLICATE, "another worker is creating this content")
                raise TransientFailure(
                    f"{key} is leased by an attempt that has not finished; retrying after the lease",
                    not_before=current.lease_expires_at + 1,  # claimable from the next whole second
                )
            raise TransientFailure(f"{key} changed while it was claimed; retrying")
        # The ledger is the first truth: what this claim took over says whether 1C can hold the deal's document.
        taken = claimed.taken_over
        known_ref = taken.onec_ref_key if taken is not None else ""
        unknown_since = taken.outcome_unknown_since() if taken is not None and not known_ref else None
        if unknown_since is not None and taken is not None and not taken.unknown_since:
            # a crashed attempt's outcome stays unknown should this attempt fail before it learns it
            self.ledger.mark_outcome_unknown(key, owner=owner, since=unknown_since)
        try:
            document, kind = self._write(message, draft, seller_inn, owner, started, known_ref, unknown_since)
        except OnecSetupError as exc:
            self._setup_failure(message, owner, str(exc))
        except ReferenceNotFound as exc:
            self._onec_answered()
            return self._reject(message, previous, (exc.text,), owner=owner)
        except ODataError as exc:
            if exc.setup:
                if self.onec_breaker is not None:
                    self.onec_breaker.failed()
                self._setup_failure(message, owner, exc.explain())
            if exc.transient:
                self.ledger.release(
                    key, owner=owner, error=str(exc), sweep_after_seconds=self.rules.sweep_after_seconds
                )
                if self.onec_breaker is not None:
                    self.onec_breaker.failed()
                raise TransientFailure(str(exc)) from exc
            self._onec_answered()
            return self._reject(message, previous, (t(Msg.ONEC_REFUSED, detail=exc.explain()),), owner=owner)
        except BaseException as exc:
            self.ledger.release(
                key,
                owner=owner,
                error=f"{type(exc).__name__}: {exc}",
                sweep_after_seconds=self.rules.sweep_after_seconds,
            )
            raise
        self._onec_answered()
        changed_after_posting = kind is OutcomeKind.CHANGED_AFTER_POSTING
        self.ledger.mark_created(
            key,
            owner=owner,
            ref_key=document.ref_key,
            number=document.number,
            total=f"{draft.total:.2f}",
            vat_total=f"{draft.vat_total:.2f}",
            status=LedgerStatus.CHANGED_AFTER_POSTING if changed_after_posting else LedgerStatus.CREATED,
        )
        metrics.add_metric(name=_METRICS[kind], unit="Count", value=1)
        logger.info("1C document handled", extra={"ledger_key": key, "onec_number": document.number, "outcome": kind})
        key = (
            Msg.COMMENT_CREATED_POSTED if kind is OutcomeKind.CREATED and self.rules.post_documents else _COMMENTS[kind]
        )
        self._comment(message, self._document_comment(key, message, document, draft))
        if self.rules.writeback_field and message.entity_type is EntityType.DEAL and not changed_after_posting:
            # The update fires ONCRMDEALUPDATE; the deal's content is unchanged, so that event ends as a duplicate.
            update = {
                "id": message.entity_id,
                "fields": {self.rules.writeback_field: document.number},
                "params": {"REGISTER_SONET_EVENT": "N"},
            }
            self.outbox.append((message, WriteBack(method="crm.deal.update", params=update)))
        return Outcome(kind, f"1C {document.number}: {draft.total:.2f} incl. VAT {draft.vat_total:.2f}")

    def _document_comment(self, key: Msg, message: QueueMessage, document: OnecDocument, draft: InvoiceDraft) -> Text:
        return document_comment(
            key,
            entity=message.entity_type,
            document_kind=self.profile.name,
            number=document.number,
            document_date=document_date_of(document.date, draft.document_date),
            draft=draft,
            link=self._link(document.ref_key),
        )

    def _link(self, ref_key: str) -> str:
        return document_link(self.rules.onec_web_client_url, self.profile.primary_set, ref_key)

    def _onec_answered(self) -> None:
        if self.onec_breaker is not None:
            self.onec_breaker.succeeded()

    def _setup_failure(self, message: QueueMessage, owner: str, problem: str) -> NoReturn:
        """1C's set-up holds the deal: released for its retries, counted for the alarm, and the manager told
        once per deal that nothing is needed from them."""
        key = message.ledger_key
        self.ledger.release(key, owner=owner, error=problem, sweep_after_seconds=self.rules.sweep_after_seconds)
        metrics.add_metric(name="SetupFailures", unit="Count", value=1)
        logger.error("1C set-up problem; the deal waits for the administrator", extra={"problem": problem})
        if self.ledger.note_setup_notice(key):
            self._comment(message, t(Msg.COMMENT_SETUP, entity=message.entity_type))
        raise TransientFailure(f"1C set-up: {problem}", setup=True)

    def _write(
        self,
        message: QueueMessage,
        draft: InvoiceDraft,
        seller_inn: str,
        owner: str,
        started: int,
        known_ref: str,
        unknown_since: int | None,
    ) -> tuple[OnecDocument, OutcomeKind]:
        """Find-or-create, with the ledger as the first truth: a document it knows is read by its Ref_Key; only
        after an attempt whose outcome is unknown is 1C looked up by key; a deal with neither is created."""
        context = self._context()
        organization = self.catalogs.organization(seller_inn or self.rules.organization_inn)
        document: OnecDocument | None = None
        if known_ref:
            document = self.profile.read(context, known_ref, draft.external_key)
        elif unknown_since is not None:
            counterparty = self.catalogs.counterparty(draft.buyer)
            search = search_since(unknown_since, self.now().tzinfo, draft.external_key, counterparty)
            document = self.profile.find(context, search)
            logger.info(
                "earlier attempt's outcome unknown: 1C looked up by key",
                extra={"since": search.since.isoformat(), "found": document is not None},
            )
        if document is None:
            try:
                return self.profile.create(context, organization, draft, self.now()), OutcomeKind.CREATED
            except BaseException:
                if unknown_since is None:
                    # 1C may have stored the document and lost the answer: the next attempt looks it up by key
                    self.ledger.mark_outcome_unknown(message.ledger_key, owner=owner, since=started)
                raise
        if document.posted:
            return document, OutcomeKind.CHANGED_AFTER_POSTING if known_ref else OutcomeKind.FOUND
        # an unposted draft always gets the current content: an earlier attempt may have stopped mid-way
        document = self.profile.update(context, document, organization, draft)
        return document, OutcomeKind.UPDATED if known_ref else OutcomeKind.FOUND

    def _context(self) -> DocumentContext:
        context = DocumentContext(
            self.onec, self.catalogs, self.schema(), post=self.rules.post_documents, language=self.rules.language
        )
        if missing := context.schema.missing(self.profile.entity_sets):
            raise OnecSetupError(
                f"1C does not publish {', '.join(missing)} over OData: add them to the OData composition "
                "(Администрирование → Синхронизация данных → Настройка стандартного интерфейса OData)"
            )
        return context

    def _withdraw(self, message: QueueMessage, previous: LedgerRecord, stage: str) -> Outcome:
        """The deal left the trigger stage: an unposted draft is marked (comment or deletion mark), a posted
        document is left to the accountant; the manager is told once."""
        if not self.ledger.mark_withdrawn(message.ledger_key, stage=stage):
            return Outcome(OutcomeKind.DUPLICATE, "already withdrawn")
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
        metrics.add_metric(name="DealsWithdrawn", unit="Count", value=1)
        withdrawn = withdrawn_comment(
            deletion_mark=self.rules.on_leaving_trigger == "deletion_mark",
            entity=message.entity_type,
            stage=stage,
            document_kind=self.profile.name,
            number=previous.onec_number,
            link=self._link(previous.onec_ref_key),
        )
        self._comment(message, withdrawn)
        return Outcome(OutcomeKind.WITHDRAWN, f"1C {previous.onec_number} withdrawn: stage {stage}")

    def _reject(
        self, message: QueueMessage, previous: LedgerRecord | None, problems: tuple[Text, ...], *, owner: str
    ) -> Outcome:
        # the English words identify the reasons whatever the language: a rejection the ledger recorded before
        # the catalog existed (in those words) is not told again
        reasons_hash = hashlib.sha256("\n".join(map(str, problems)).encode()).hexdigest()
        codes = tuple(problem.code for problem in problems)
        recorded = self.ledger.mark_rejected(message.ledger_key, content_hash=reasons_hash, reasons=codes, owner=owner)
        told_before = (
            previous is not None and previous.status is LedgerStatus.REJECTED and previous.content_hash == reasons_hash
        )
        detail = "; ".join(map(str, problems))
        if not recorded or told_before:
            return Outcome(OutcomeKind.REJECTED, detail)
        metrics.add_metric(name="DealsRejected", unit="Count", value=1)
        # the reasons log as their English words (Text.__str__), as the RejectionsByReasonQuery groups them
        logger.info("deal rejected", extra={"ledger_key": message.ledger_key, "reasons": list(problems)})
        self._comment(message, rejected_comment(message.entity_type, problems))
        return Outcome(OutcomeKind.REJECTED, detail)

    def _comment(self, message: QueueMessage, text: Text) -> None:
        """Queued, not sent: `flush_write_backs` sends every comment of the SQS batch in one request."""
        fields = {
            "ENTITY_ID": message.entity_id,
            "ENTITY_TYPE": _TIMELINE_TYPES[message.entity_type],
            "COMMENT": render(text, self.rules.language),
        }
        self.outbox.append((message, WriteBack(method="crm.timeline.comment.add", params={"fields": fields})))

    def flush_write_backs(self) -> list[QueueMessage]:
        """Sends the batch's Bitrix24 writes in one request. The outcomes are already in the ledger, so a write
        that fails for a passing reason comes back as a message of its own to retry later; the rest is logged."""
        pending, self.outbox = self.outbox, []
        retry: list[QueueMessage] = []
        for start in range(0, len(pending), MAX_BATCH_COMMANDS):
            chunk = pending[start : start + MAX_BATCH_COMMANDS]
            commands = {f"write_back_{index}": (w.method, w.params) for index, (_, w) in enumerate(chunk)}
            try:
                errors = {key: error.code for key, error in self.bitrix.batch(commands).errors.items()}
            except Bitrix24Error as exc:
                errors = dict.fromkeys(commands, "TRANSIENT" if exc.transient else exc.code)
            for index, (message, write) in enumerate(chunk):
                code = errors.get(f"write_back_{index}")
                if code is None:
                    continue
                metrics.add_metric(name="WriteBackFailures", unit="Count", value=1)
                if (
                    code == "TRANSIENT" or code.upper() in TRANSIENT_COMMAND_ERRORS
                ) and write.attempt < MAX_WRITE_BACKS:
                    again = write.model_copy(update={"attempt": write.attempt + 1})
                    retry.append(message.model_copy(update={"write_back": again, "event": "WRITE_BACK"}))
                else:
                    logger.error("Bitrix24 write-back dropped", extra={"method": write.method, "error": code})
        return retry


_COMMENTS = {
    OutcomeKind.CREATED: Msg.COMMENT_CREATED,
    OutcomeKind.FOUND: Msg.COMMENT_CREATED,
    OutcomeKind.UPDATED: Msg.COMMENT_UPDATED,
    OutcomeKind.CHANGED_AFTER_POSTING: Msg.COMMENT_CHANGED_AFTER_POSTING,
}
_METRICS = {
    OutcomeKind.CREATED: "InvoicesCreated",
    OutcomeKind.FOUND: "InvoicesFound",
    OutcomeKind.UPDATED: "InvoicesUpdated",
    OutcomeKind.CHANGED_AFTER_POSTING: "ChangedAfterPosting",
}
