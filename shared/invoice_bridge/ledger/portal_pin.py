"""The first release's single portal, pinned in the ledger table by its first accepted event: one item under
PIN_KEY, written once and never changed (the receiver may read and write only that item)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from invoice_bridge import clock
from invoice_bridge.ledger.table import condition_failed, read_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PIN_KEY = "portal-pin"


@dataclass(frozen=True)
class PortalPin:
    member_id: str
    domain: str
    pinned_at: int  # unix seconds


class PortalPinStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    @property
    def table_name(self) -> str:
        return self._table

    def portal_pin(self) -> PortalPin | None:
        item = read_item(self._client, self._table, PIN_KEY)
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
            if not condition_failed(exc):
                raise
            pin = self.portal_pin()
            if pin is None:  # deleted in between by a person: let the caller fail and retry
                raise
            return pin, False
        return PortalPin(member_id, domain, now), True
