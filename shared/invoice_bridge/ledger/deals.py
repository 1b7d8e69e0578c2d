"""The deal items of the ledger: one per deal, every change a conditional write, so two workers never both
create (the states are in records.py). Beside each deal, the pre-flight's note of what it last told the deal.

Items IN_PROGRESS or RETRYING carry `sweep` and `sweep_at` (when the ledger sweep should look at them): they
form the sparse index SWEEP_INDEX, so the sweep queries the few unfinished deals instead of scanning the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from invoice_bridge import clock
from invoice_bridge.ledger.records import LedgerRecord, LedgerStatus, record_of
from invoice_bridge.ledger.table import read_item, read_items, write_if

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

SWEEP_INDEX = "sweep-due"  # sparse GSI: hash `sweep` (always SWEEP_PENDING), range `sweep_at`
SWEEP_PENDING = "pending"
PREFLIGHT_PREFIX = "preflight#"  # what the pre-flight last told a deal, beside the deal's own item
STATUS_NAME = {"#s": "status"}  # `status` is a reserved word in DynamoDB's expressions


@dataclass(frozen=True)
class Claim:
    taken_over: LedgerRecord | None  # the item as it was before this claim; None for a deal never seen


class Ledger:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, key: str) -> LedgerRecord | None:
        item = read_item(self._client, self._table, key)
        return None if item is None else record_of(item)

    def claim(
        self,
        key: str,
        *,
        owner: str,
        content_hash: str,
        lease_seconds: int,
        delivery_id: str = "",
    ) -> Claim | None:
        """Takes the deal to create or update its document, and tells what it took over. None when another
        worker holds a live lease, or the deal's document already has this content. The sweep looks at the deal
        once the lease has expired."""
        now = int(clock.now())
        old = write_if(
            self._client,
            self._table,
            key,
            update="SET #s = :in_progress, lease_owner = :owner, lease_delivery = :delivery, "
            "lease_expires_at = :expires, content_hash = :hash, attempts = if_not_exists(attempts, :zero) + :one, "
            "updated_at = :now, created_at = if_not_exists(created_at, :now), sweep = :pending, sweep_at = :expires, "
            "attempt_started_at = :now",
            condition="attribute_not_exists(pk) OR #s IN (:retrying, :rejected) "
            "OR (#s IN (:created, :changed, :withdrawn) AND content_hash <> :hash) "
            "OR (#s = :in_progress AND lease_expires_at < :now)",
            values={
                ":in_progress": {"S": LedgerStatus.IN_PROGRESS},
                ":retrying": {"S": LedgerStatus.RETRYING},
                ":rejected": {"S": LedgerStatus.REJECTED},
                ":created": {"S": LedgerStatus.CREATED},
                ":changed": {"S": LedgerStatus.CHANGED_AFTER_POSTING},
                ":withdrawn": {"S": LedgerStatus.WITHDRAWN},
                ":owner": {"S": owner},
                ":delivery": {"S": delivery_id or "-"},
                ":expires": {"N": str(now + lease_seconds)},
                ":hash": {"S": content_hash},
                ":zero": {"N": "0"},
                ":one": {"N": "1"},
                ":now": {"N": str(now)},
                ":pending": {"S": SWEEP_PENDING},
            },
            names=STATUS_NAME,
            old=True,
        )
        if old is None:
            return None
        return Claim(taken_over=record_of(old) if old else None)

    def mark_outcome_unknown(self, key: str, *, owner: str, since: int) -> bool:
        """The attempt holding the lease may have written to 1C unrecorded (its create failed, or it took over
        a crashed attempt): the attempts after it look 1C up by key until a document is recorded."""
        return self._conditional_update(
            key,
            "SET unknown_since = if_not_exists(unknown_since, :since)",
            "#s = :in_progress AND lease_owner = :owner",
            {
                ":in_progress": {"S": LedgerStatus.IN_PROGRESS},
                ":owner": {"S": owner},
                ":since": {"N": str(since)},
            },
        )

    def mark_created(
        self,
        key: str,
        *,
        owner: str,
        ref_key: str,
        number: str,
        total: str,
        vat_total: str,
        status: LedgerStatus = LedgerStatus.CREATED,
    ) -> bool:
        return self._conditional_update(
            key,
            "SET #s = :done, onec_ref_key = :ref, onec_number = :number, #total = :total, vat_total = :vat, "
            # the status sync follows the document from now on (status_sync/open_documents.py)
            "open_portal = :portal, opened_at = if_not_exists(opened_at, :now), "
            "updated_at = :now REMOVE lease_owner, lease_delivery, lease_expires_at, last_error, reasons, sweep, sweep_at, "
            "unknown_since",
            "#s = :in_progress AND lease_owner = :owner",
            {
                ":done": {"S": status},
                ":in_progress": {"S": LedgerStatus.IN_PROGRESS},
                ":owner": {"S": owner},
                ":ref": {"S": ref_key},
                ":number": {"S": number},
                ":total": {"S": total},
                ":vat": {"S": vat_total},
                ":now": {"N": str(int(clock.now()))},
                ":portal": {"S": key.partition("#")[0]},
            },
            extra_names={"#total": "total"},
        )

    def mark_withdrawn(self, key: str, *, stage: str) -> bool:
        """The deal left the trigger stage; its content hash is cleared so a return to the stage is new work."""
        return self._conditional_update(
            key,
            "SET #s = :withdrawn, content_hash = :empty, last_error = :why, updated_at = :now",
            "#s IN (:created, :changed)",
            {
                ":withdrawn": {"S": LedgerStatus.WITHDRAWN},
                ":created": {"S": LedgerStatus.CREATED},
                ":changed": {"S": LedgerStatus.CHANGED_AFTER_POSTING},
                ":empty": {"S": ""},
                ":why": {"S": f"left the trigger stage for {stage}"},
                ":now": {"N": str(int(clock.now()))},
            },
        )

    def mark_rejected(self, key: str, *, content_hash: str, reasons: tuple[str, ...], owner: str = "") -> bool:
        """Records why a deal cannot be invoiced. False when this exact content was rejected already (or created),
        so the manager is told once per version of the deal."""
        owned = "(#s = :in_progress AND lease_owner = :owner)" if owner else "attribute_not_exists(pk)"
        return self._conditional_update(
            key,
            "SET #s = :rejected, content_hash = :hash, reasons = :reasons, updated_at = :now, "
            "created_at = if_not_exists(created_at, :now) "
            "REMOVE lease_owner, lease_delivery, lease_expires_at, sweep, sweep_at",
            f"{owned} OR #s = :retrying OR (#s = :rejected AND content_hash <> :hash)",
            {
                ":rejected": {"S": LedgerStatus.REJECTED},
                ":retrying": {"S": LedgerStatus.RETRYING},
                ":hash": {"S": content_hash},
                ":reasons": {"L": [{"S": reason} for reason in reasons] or [{"S": "(no reason given)"}]},
                ":now": {"N": str(int(clock.now()))},
                **({":in_progress": {"S": LedgerStatus.IN_PROGRESS}, ":owner": {"S": owner}} if owner else {}),
            },
        )

    def release(self, key: str, *, owner: str, error: str, sweep_after_seconds: int = 0) -> bool:
        """Gives the deal back after a transient failure so the next delivery may claim it at once. Its message
        retries it; should that message be lost, the sweep queues the deal again after `sweep_after_seconds`."""
        now = int(clock.now())
        return self._conditional_update(
            key,
            "SET #s = :retrying, last_error = :error, updated_at = :now, sweep = :pending, sweep_at = :sweep_at "
            "REMOVE lease_owner, lease_delivery, lease_expires_at",
            "#s = :in_progress AND lease_owner = :owner",
            {
                ":retrying": {"S": LedgerStatus.RETRYING},
                ":in_progress": {"S": LedgerStatus.IN_PROGRESS},
                ":owner": {"S": owner},
                ":error": {"S": error[:1000]},
                ":now": {"N": str(now)},
                ":pending": {"S": SWEEP_PENDING},
                ":sweep_at": {"N": str(now + sweep_after_seconds)},
            },
        )

    def note_setup_notice(self, key: str) -> bool:
        """True the first time only: the manager is told once per deal that 1C's set-up holds it."""
        return self._conditional_update(
            key,
            "SET setup_notice_at = :now",
            "attribute_exists(#s) AND attribute_not_exists(setup_notice_at)",
            {":now": {"N": str(int(clock.now()))}},
        )

    def due_for_sweep(self, now: float, limit: int) -> list[LedgerRecord]:
        """Unfinished deals whose sweep time has passed, oldest first, through the sparse index."""
        answer = self._client.query(
            TableName=self._table,
            IndexName=SWEEP_INDEX,
            KeyConditionExpression="sweep = :pending AND sweep_at <= :now",
            ExpressionAttributeValues={":pending": {"S": SWEEP_PENDING}, ":now": {"N": str(int(now))}},
            Limit=limit,
        )
        return [record_of(item) for item in answer.get("Items", [])]

    def postpone_sweep(self, record: LedgerRecord, *, until: float) -> bool:
        """Moves the item's sweep time on, unless it changed since it was read (then it is not stuck)."""
        return self._conditional_update(
            record.pk,
            "SET sweep_at = :until",
            "#s = :status AND sweep_at = :seen",
            {
                ":status": {"S": record.status},
                ":seen": {"N": str(record.sweep_at)},
                ":until": {"N": str(int(until))},
            },
        )

    def get_many(self, keys: Iterable[str]) -> dict[str, LedgerRecord]:
        records = (record_of(item) for item in read_items(self._client, self._table, list(dict.fromkeys(keys))))
        return {record.pk: record for record in records}

    def note_preflight(self, key: str, told: str) -> bool:
        """True when the pre-flight has not told the deal `told` (a hash of the comment) the last time: one
        comment per content, however often the deal is saved in a pre-flight stage. Never touches the deal's item."""
        written = write_if(
            self._client,
            self._table,
            f"{PREFLIGHT_PREFIX}{key}",
            update="SET told = :told, updated_at = :now",
            condition="attribute_not_exists(told) OR told <> :told",
            values={":told": {"S": told}, ":now": {"N": str(int(clock.now()))}},
        )
        return written is not None

    def _conditional_update(
        self,
        key: str,
        update: str,
        condition: str,
        values: dict[str, AttributeValueTypeDef],
        extra_names: dict[str, str] | None = None,
    ) -> bool:
        names = {**STATUS_NAME, **(extra_names or {})}
        old = write_if(
            self._client, self._table, key, update=update, condition=condition, values=values, names=names, old=True
        )
        return old is not None
