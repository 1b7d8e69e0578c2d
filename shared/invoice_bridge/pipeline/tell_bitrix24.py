"""Step 5, tell Bitrix24: what the manager reads in the timeline — the 1C document with its link, a rejection,
a withdrawal, a pre-flight result, a set-up wait — as catalog texts (`comments.py` picks them, `messages` holds
the words), and the deal's field that gets the document number. Queued per message and sent for the whole SQS
batch in one `batch` request; a write that fails for a passing reason comes back as a message of its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from invoice_bridge.bitrix24.client import MAX_BATCH_COMMANDS, Bitrix24Client, Bitrix24Error
from invoice_bridge.bitrix24.snapshot import TRANSIENT_COMMAND_ERRORS
from invoice_bridge.comments import document_comment, document_date_of, rejected_comment, withdrawn_comment
from invoice_bridge.events import EntityType, QueueMessage, WriteBack
from invoice_bridge.invoice.model import InvoiceDraft
from invoice_bridge.ledger.records import LedgerRecord
from invoice_bridge.messages import Msg, Text, render, t
from invoice_bridge.observability import logger, metrics
from invoice_bridge.onec.document_keys import OnecDocument
from invoice_bridge.onec.documents import DocumentProfile
from invoice_bridge.onec.navigation import document_link
from invoice_bridge.pipeline.outcome import OutcomeKind
from invoice_bridge.pipeline.rules import ProcessorRules

MAX_WRITE_BACKS = 5  # attempts of one timeline comment or field update before it is dropped (and logged)

# "smart_invoice" for new invoices is not documented for crm.timeline.comment.add (reference/bitrix24.md §2.7).
_TIMELINE_TYPES = {EntityType.DEAL: "deal", EntityType.INVOICE: "smart_invoice"}

_COMMENTS = {
    OutcomeKind.CREATED: Msg.COMMENT_CREATED,
    OutcomeKind.FOUND: Msg.COMMENT_CREATED,
    OutcomeKind.UPDATED: Msg.COMMENT_UPDATED,
    OutcomeKind.CHANGED_AFTER_POSTING: Msg.COMMENT_CHANGED_AFTER_POSTING,
}


@dataclass
class Bitrix24Outbox:
    rules: ProcessorRules
    profile: DocumentProfile
    pending: list[tuple[QueueMessage, WriteBack]] = field(default_factory=list)

    def document(self, message: QueueMessage, kind: OutcomeKind, document: OnecDocument, draft: InvoiceDraft) -> None:
        """The document made, found or updated, and its number in the deal's write-back field."""
        key = (
            Msg.COMMENT_CREATED_POSTED if kind is OutcomeKind.CREATED and self.rules.post_documents else _COMMENTS[kind]
        )
        text = document_comment(
            key,
            entity=message.entity_type,
            document_kind=self.profile.name,
            number=document.number,
            document_date=document_date_of(document.date, draft.document_date),
            draft=draft,
            link=self._link(document.ref_key),
        )
        self.comment(message, text)
        changed_after_posting = kind is OutcomeKind.CHANGED_AFTER_POSTING
        if self.rules.writeback_field and message.entity_type is EntityType.DEAL and not changed_after_posting:
            # The update fires ONCRMDEALUPDATE; the deal's content is unchanged, so that event ends as a duplicate.
            update = {
                "id": message.entity_id,
                "fields": {self.rules.writeback_field: document.number},
                "params": {"REGISTER_SONET_EVENT": "N"},
            }
            self.queue(message, WriteBack(method="crm.deal.update", params=update))

    def withdrawn(self, message: QueueMessage, previous: LedgerRecord, stage: str) -> None:
        text = withdrawn_comment(
            deletion_mark=self.rules.on_leaving_trigger == "deletion_mark",
            entity=message.entity_type,
            stage=stage,
            document_kind=self.profile.name,
            number=previous.onec_number,
            link=self._link(previous.onec_ref_key),
        )
        self.comment(message, text)

    def rejected(self, message: QueueMessage, problems: Sequence[Text]) -> None:
        self.comment(message, rejected_comment(message.entity_type, problems))

    def setup_wait(self, message: QueueMessage) -> None:
        """1C's set-up holds the deal: nothing is needed from the manager."""
        self.comment(message, t(Msg.COMMENT_SETUP, entity=message.entity_type))

    def comment(self, message: QueueMessage, text: Text) -> None:
        """Queued, not sent: `flush` sends every comment of the SQS batch in one request."""
        fields = {
            "ENTITY_ID": message.entity_id,
            "ENTITY_TYPE": _TIMELINE_TYPES[message.entity_type],
            "COMMENT": render(text, self.rules.language),
        }
        self.queue(message, WriteBack(method="crm.timeline.comment.add", params={"fields": fields}))

    def queue(self, message: QueueMessage, write: WriteBack) -> None:
        """Queues a write: a new one, or one that failed before and came back as a message of its own."""
        self.pending.append((message, write))

    def flush(self, bitrix: Bitrix24Client) -> list[QueueMessage]:
        """Sends the batch's Bitrix24 writes in one request. The outcomes are already in the ledger, so a write
        that fails for a passing reason comes back as a message of its own to retry later; the rest is logged."""
        pending, self.pending = self.pending, []
        retry: list[QueueMessage] = []
        for start in range(0, len(pending), MAX_BATCH_COMMANDS):
            chunk = pending[start : start + MAX_BATCH_COMMANDS]
            commands = {f"write_back_{index}": (w.method, w.params) for index, (_, w) in enumerate(chunk)}
            try:
                errors = {key: error.code for key, error in bitrix.batch(commands).errors.items()}
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

    def _link(self, ref_key: str) -> str:
        return document_link(self.rules.onec_web_client_url, self.profile.primary_set, ref_key)
