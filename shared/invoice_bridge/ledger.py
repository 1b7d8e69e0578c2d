"""The DynamoDB ledger: one item per deal, every change a conditional write, so two workers never both create.

States: IN_PROGRESS (leased) → CREATED | CHANGED_AFTER_POSTING | REJECTED | RETRYING, and CREATED → WITHDRAWN.
A deal with a document is claimed again only for different content, to update its draft.

Items IN_PROGRESS or RETRYING carry `sweep` and `sweep_at` (when the ledger sweep should look at them): they
form the sparse index SWEEP_INDEX, so the sweep queries the few unfinished deals instead of scanning the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from invoice_bridge import clock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef


class LedgerStatus(StrEnum):
    IN_PROGRESS = "IN_PROGRESS"
    CREATED = "CREATED"
    REJECTED = "REJECTED"
    RETRYING = "RETRYING"
    CHANGED_AFTER_POSTING = "CHANGED_AFTER_POSTING"  # the deal changed after the accountant posted the document
    WITHDRAWN = "WITHDRAWN"  # the deal left the trigger stage after its document was made


PIN_KEY = "portal-pin"  # the first release's single portal, pinned by its first accepted event
SWEEP_INDEX = "sweep-due"  # sparse GSI: hash `sweep` (always SWEEP_PENDING), range `sweep_at`
SWEEP_PENDING = "pending"
CHECKPOINT_PREFIX = "reconciler#"
PREFLIGHT_PREFIX = "preflight#"  # what the pre-flight last told a deal, beside the deal's own item

# The deal has a document in 1C in these states.
DOCUMENT_STATES = frozenset({LedgerStatus.CREATED, LedgerStatus.CHANGED_AFTER_POSTING})


@dataclass(frozen=True)
class PortalPin:
    member_id: str
    domain: str
    pinned_at: int  # unix seconds


@dataclass(frozen=True)
class Checkpoint:
    since: datetime  # the newest change the reconciler has seen on the portal
    swept_at: int  # unix seconds of the sweep that saved it


class LedgerRecord(BaseModel):
    # built on first use: the receiver imports this module for the portal pin and never reads a record
    model_config = ConfigDict(frozen=True, defer_build=True)

    pk: str
    status: LedgerStatus
    content_hash: str = ""
    lease_owner: str = ""
    lease_delivery: str = ""  # the SQS message whose attempt holds the lease
    lease_expires_at: int = 0
    attempts: int = 0
    onec_ref_key: str = ""
    onec_number: str = ""
    total: str = ""
    vat_total: str = ""
    reasons: tuple[str, ...] = ()
    last_error: str = ""
    updated_at: int = 0
    sweep_at: int = 0
    setup_notice_at: int = 0  # when the manager was told that 1C's set-up holds the deal (once per deal)
    created_at: int = 0  # the first claim
    attempt_started_at: int = 0  # the latest claim
    unknown_since: int = 0  # an attempt that began then may have written to 1C without the ledger knowing

    def outcome_unknown_since(self) -> int | None:
        """When the attempt began whose 1C write may have happened unrecorded; None when nothing was written
        that the ledger does not know. A record left IN_PROGRESS (its lease expired: the attempt crashed or was
        killed) counts, as does one released or rejected after its create failed (`unknown_since`)."""
        if self.unknown_since:
            return self.unknown_since
        if self.status is LedgerStatus.IN_PROGRESS:
            return self.attempt_started_at or self.created_at or self.updated_at
        if self.status is LedgerStatus.RETRYING and not self.attempt_started_at:
            return self.created_at or self.updated_at  # released by a release that did not record the outcome
        return None


@dataclass(frozen=True)
class Claim:
    taken_over: LedgerRecord | None  # the item as it was before this claim; None for a deal never seen


class Ledger:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, key: str) -> LedgerRecord | None:
        item = self._client.get_item(TableName=self._table, Key={"pk": {"S": key}}, ConsistentRead=True).get("Item")
        return None if item is None else _record(item)

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
        old = self._conditional_write(
            key,
            "SET #s = :in_progress, lease_owner = :owner, lease_delivery = :delivery, lease_expires_at = :expires, "
            "content_hash = :hash, attempts = if_not_exists(attempts, :zero) + :one, updated_at = :now, "
            "created_at = if_not_exists(created_at, :now), sweep = :pending, sweep_at = :expires, "
            "attempt_started_at = :now",
            "attribute_not_exists(pk) OR #s IN (:retrying, :rejected) "
            "OR (#s IN (:created, :changed, :withdrawn) AND content_hash <> :hash) "
            "OR (#s = :in_progress AND lease_expires_at < :now)",
            {
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
        )
        if old is None:
            return None
        return Claim(taken_over=_record(old) if old else None)

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
        return [_record(item) for item in answer.get("Items", [])]

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
        wanted = list(dict.fromkeys(keys))
        found: dict[str, LedgerRecord] = {}
        for start in range(0, len(wanted), 100):  # BatchGetItem's limit
            request: dict[str, Any] = {
                self._table: {
                    "Keys": [{"pk": {"S": key}} for key in wanted[start : start + 100]],
                    "ConsistentRead": True,
                }
            }
            while request:
                answer = self._client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self._table, []):
                    record = _record(item)
                    found[record.pk] = record
                request = dict(answer.get("UnprocessedKeys") or {})
        return found

    # Items beside the deals: the pin of the first release's single portal, the reconciler's checkpoint per portal.

    @property
    def table_name(self) -> str:
        return self._table

    def portal_pin(self) -> PortalPin | None:
        item = self._client.get_item(TableName=self._table, Key={"pk": {"S": PIN_KEY}}, ConsistentRead=True).get("Item")
        if not item:
            return None
        return PortalPin(item["member_id"]["S"], item["domain"]["S"], int(item["pinned_at"]["N"]))

    def pin_portal(self, member_id: str, domain: str) -> tuple[PortalPin, bool]:
        """Writes the pin unless one exists (a conditional write): the pin in force, and whether this call wrote it."""
        now = int(clock.now())
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": PIN_KEY}},
                UpdateExpression="SET member_id = :member_id, #domain = :domain, pinned_at = :now",
                ConditionExpression="attribute_not_exists(pk)",
                ExpressionAttributeNames={"#domain": "domain"},
                ExpressionAttributeValues={
                    ":member_id": {"S": member_id},
                    ":domain": {"S": domain},
                    ":now": {"N": str(now)},
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            pin = self.portal_pin()
            if pin is None:  # deleted in between by a person: let the caller fail and retry
                raise
            return pin, False
        return PortalPin(member_id, domain, now), True

    def checkpoints(self, member_ids: Iterable[str]) -> dict[str, Checkpoint]:
        """The reconciler's checkpoint of each portal that has one, in BatchGetItem calls of 100."""
        wanted = [f"{CHECKPOINT_PREFIX}{member_id}" for member_id in dict.fromkeys(member_ids)]
        found: dict[str, Checkpoint] = {}
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] = {
                self._table: {
                    "Keys": [{"pk": {"S": key}} for key in wanted[start : start + 100]],
                    "ConsistentRead": True,
                    "ProjectionExpression": "pk, since, updated_at",
                }
            }
            while request:
                answer = self._client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self._table, []):
                    if "since" in item:
                        found[item["pk"]["S"].removeprefix(CHECKPOINT_PREFIX)] = Checkpoint(
                            datetime.fromisoformat(item["since"]["S"]), int(item.get("updated_at", {}).get("N", "0"))
                        )
                request = dict(answer.get("UnprocessedKeys") or {})
        return found

    def checkpoint(self, member_id: str) -> datetime | None:
        item = self._client.get_item(
            TableName=self._table, Key={"pk": {"S": f"{CHECKPOINT_PREFIX}{member_id}"}}, ConsistentRead=True
        ).get("Item")
        return datetime.fromisoformat(item["since"]["S"]) if item and "since" in item else None

    def save_checkpoint(self, member_id: str, since: datetime) -> None:
        self._client.update_item(
            TableName=self._table,
            Key={"pk": {"S": f"{CHECKPOINT_PREFIX}{member_id}"}},
            UpdateExpression="SET since = :since, updated_at = :now",
            ExpressionAttributeValues={":since": {"S": since.isoformat()}, ":now": {"N": str(int(clock.now()))}},
        )

    def note_preflight(self, key: str, told: str) -> bool:
        """True when the pre-flight has not told the deal `told` (a hash of the comment) the last time: one
        comment per content, however often the deal is saved in a pre-flight stage. Never touches the deal's item."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"{PREFLIGHT_PREFIX}{key}"}},
                UpdateExpression="SET told = :told, updated_at = :now",
                ConditionExpression="attribute_not_exists(told) OR told <> :told",
                ExpressionAttributeValues={":told": {"S": told}, ":now": {"N": str(int(clock.now()))}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _conditional_update(
        self,
        key: str,
        update: str,
        condition: str,
        values: dict[str, AttributeValueTypeDef],
        extra_names: dict[str, str] | None = None,
    ) -> bool:
        return self._conditional_write(key, update, condition, values, extra_names) is not None

    def _conditional_write(
        self,
        key: str,
        update: str,
        condition: str,
        values: dict[str, AttributeValueTypeDef],
        extra_names: dict[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """The item's attributes before the write ({} when it did not exist); None when the condition failed."""
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": key}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#s": "status", **(extra_names or {})},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise
        return dict(answer.get("Attributes") or {})


def _record(item: dict[str, Any]) -> LedgerRecord:
    plain: dict[str, Any] = {}
    for name, value in item.items():
        if "S" in value:
            plain[name] = value["S"]
        elif "N" in value:
            plain[name] = int(value["N"])
        elif "L" in value:
            plain[name] = tuple(entry.get("S", "") for entry in value["L"])
    return LedgerRecord.model_validate(plain)
