"""The reconciler's checkpoint per portal, one item each in the ledger table: the newest change it has seen on
the portal, and when the sweep that saw it ran."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from invoice_bridge import clock
from invoice_bridge.ledger.table import read_item, read_items

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CHECKPOINT_PREFIX = "reconciler#"


@dataclass(frozen=True)
class Checkpoint:
    since: datetime  # the newest change the reconciler has seen on the portal
    swept_at: int  # unix seconds of the sweep that saved it


class CheckpointStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def checkpoints(self, member_ids: Iterable[str]) -> dict[str, Checkpoint]:
        """The reconciler's checkpoint of each portal that has one, in BatchGetItem calls of 100."""
        wanted = [f"{CHECKPOINT_PREFIX}{member_id}" for member_id in dict.fromkeys(member_ids)]
        return {
            item["pk"]["S"].removeprefix(CHECKPOINT_PREFIX): Checkpoint(
                datetime.fromisoformat(item["since"]["S"]), int(item.get("updated_at", {}).get("N", "0"))
            )
            for item in read_items(self._client, self._table, wanted, projection="pk, since, updated_at")
            if "since" in item
        }

    def checkpoint(self, member_id: str) -> datetime | None:
        item = read_item(self._client, self._table, f"{CHECKPOINT_PREFIX}{member_id}")
        return datetime.fromisoformat(item["since"]["S"]) if item and "since" in item else None

    def save_checkpoint(self, member_id: str, since: datetime) -> None:
        self._client.update_item(
            TableName=self._table,
            Key={"pk": {"S": f"{CHECKPOINT_PREFIX}{member_id}"}},
            UpdateExpression="SET since = :since, updated_at = :now",
            ExpressionAttributeValues={":since": {"S": since.isoformat()}, ":now": {"N": str(int(clock.now()))}},
        )
