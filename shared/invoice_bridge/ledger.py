"""The DynamoDB ledger: one item per deal, every change a conditional write, so two workers never both create.

States: IN_PROGRESS (leased) → CREATED | REJECTED | RETRYING. A CREATED deal is never claimed again.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef


class LedgerStatus(StrEnum):
    IN_PROGRESS = "IN_PROGRESS"
    CREATED = "CREATED"
    REJECTED = "REJECTED"
    RETRYING = "RETRYING"


class LedgerRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    pk: str
    status: LedgerStatus
    content_hash: str = ""
    lease_owner: str = ""
    lease_expires_at: int = 0
    attempts: int = 0
    onec_ref_key: str = ""
    onec_number: str = ""
    total: str = ""
    vat_total: str = ""
    reasons: tuple[str, ...] = ()
    last_error: str = ""
    updated_at: int = 0


class Ledger:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, key: str) -> LedgerRecord | None:
        item = self._client.get_item(TableName=self._table, Key={"pk": {"S": key}}, ConsistentRead=True).get("Item")
        return None if item is None else _record(item)

    def claim(self, key: str, *, owner: str, content_hash: str, lease_seconds: int) -> bool:
        """Takes the deal for creation. False when another worker holds a live lease or it is already CREATED."""
        now = int(time.time())
        return self._conditional_update(
            key,
            "SET #s = :in_progress, lease_owner = :owner, lease_expires_at = :expires, content_hash = :hash, "
            "attempts = if_not_exists(attempts, :zero) + :one, updated_at = :now, created_at = if_not_exists(created_at, :now)",
            "attribute_not_exists(pk) OR #s IN (:retrying, :rejected) OR (#s = :in_progress AND lease_expires_at < :now)",
            {
                ":in_progress": {"S": LedgerStatus.IN_PROGRESS},
                ":retrying": {"S": LedgerStatus.RETRYING},
                ":rejected": {"S": LedgerStatus.REJECTED},
                ":owner": {"S": owner},
                ":expires": {"N": str(now + lease_seconds)},
                ":hash": {"S": content_hash},
                ":zero": {"N": "0"},
                ":one": {"N": "1"},
                ":now": {"N": str(now)},
            },
        )

    def mark_created(self, key: str, *, owner: str, ref_key: str, number: str, total: str, vat_total: str) -> bool:
        return self._conditional_update(
            key,
            "SET #s = :created, onec_ref_key = :ref, onec_number = :number, #total = :total, vat_total = :vat, "
            "updated_at = :now REMOVE lease_owner, lease_expires_at, last_error, reasons",
            "#s = :in_progress AND lease_owner = :owner",
            {
                ":created": {"S": LedgerStatus.CREATED},
                ":in_progress": {"S": LedgerStatus.IN_PROGRESS},
                ":owner": {"S": owner},
                ":ref": {"S": ref_key},
                ":number": {"S": number},
                ":total": {"S": total},
                ":vat": {"S": vat_total},
                ":now": {"N": str(int(time.time()))},
            },
            extra_names={"#total": "total"},
        )

    def mark_rejected(self, key: str, *, content_hash: str, reasons: tuple[str, ...], owner: str = "") -> bool:
        """Records why a deal cannot be invoiced. False when this exact content was rejected already (or created),
        so the manager is told once per version of the deal."""
        owned = "(#s = :in_progress AND lease_owner = :owner)" if owner else "attribute_not_exists(pk)"
        return self._conditional_update(
            key,
            "SET #s = :rejected, content_hash = :hash, reasons = :reasons, updated_at = :now, "
            "created_at = if_not_exists(created_at, :now) REMOVE lease_owner, lease_expires_at",
            f"{owned} OR #s = :retrying OR (#s = :rejected AND content_hash <> :hash)",
            {
                ":rejected": {"S": LedgerStatus.REJECTED},
                ":retrying": {"S": LedgerStatus.RETRYING},
                ":hash": {"S": content_hash},
                ":reasons": {"L": [{"S": reason} for reason in reasons] or [{"S": "(no reason given)"}]},
                ":now": {"N": str(int(time.time()))},
                **({":in_progress": {"S": LedgerStatus.IN_PROGRESS}, ":owner": {"S": owner}} if owner else {}),
            },
        )

    def release(self, key: str, *, owner: str, error: str) -> bool:
        """Gives the deal back after a transient failure so the next delivery may claim it at once."""
        return self._conditional_update(
            key,
            "SET #s = :retrying, last_error = :error, updated_at = :now REMOVE lease_owner, lease_expires_at",
            "#s = :in_progress AND lease_owner = :owner",
            {
                ":retrying": {"S": LedgerStatus.RETRYING},
                ":in_progress": {"S": LedgerStatus.IN_PROGRESS},
                ":owner": {"S": owner},
                ":error": {"S": error[:1000]},
                ":now": {"N": str(int(time.time()))},
            },
        )

    def _conditional_update(
        self,
        key: str,
        update: str,
        condition: str,
        values: dict[str, AttributeValueTypeDef],
        extra_names: dict[str, str] | None = None,
    ) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": key}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#s": "status", **(extra_names or {})},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


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
