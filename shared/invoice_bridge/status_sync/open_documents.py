"""The ledger's open documents: those whose life in 1C the status sync still follows.

A deal's ledger item gets `open_portal` (its portal's member_id) and `opened_at` when its document is recorded
(`Ledger.mark_created`); they form the sparse index OPEN_INDEX, so a sweep queries one portal's open documents of
the last N days and never scans the table. The item leaves the index when its document is paid in full,
cancelled or deleted (`open_portal` removed); older ones stay out of the query's range.

What Bitrix24 was told is kept in the item as `sync_told` (JSON, `state.Told`); each change of it is a
conditional write on the value read, so two sweeps never both tell the same transition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from invoice_bridge import clock
from invoice_bridge.events import EntityType
from invoice_bridge.status_sync.state import Told

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

OPEN_INDEX = "open-documents"  # sparse GSI: hash `open_portal`, range `opened_at`


@dataclass(frozen=True)
class OpenDocument:
    key: str  # the ledger key: member_id#kind#id
    entity_type: EntityType
    entity_id: int
    ref: str  # the 1C document's Ref_Key
    number: str
    told_raw: str  # `sync_told` as read ("" when nothing was told yet)
    opened_at: int
    category: int | None = None  # a new invoice's funnel, once the status sync has read it (`sync_category`)

    @property
    def told(self) -> Told:
        return Told.load(self.told_raw)


class OpenDocuments:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name
        self.queries = 0

    def of_portal(self, member_id: str, *, since: int) -> list[OpenDocument]:
        """The portal's open documents recorded at or after `since` (unix seconds), oldest first."""
        found: list[OpenDocument] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": OPEN_INDEX,
            "KeyConditionExpression": "open_portal = :member AND opened_at >= :since",
            "ExpressionAttributeValues": {":member": {"S": member_id}, ":since": {"N": str(since)}},
        }
        while True:
            self.queries += 1
            answer = self._client.query(**request)
            for item in answer.get("Items", []):
                document = _document(item)
                if document is not None:
                    found.append(document)
            last = answer.get("LastEvaluatedKey")
            if not last:
                return found
            request["ExclusiveStartKey"] = last

    def record(self, document: OpenDocument, told: Told, *, close: bool, category: int | None = None) -> bool:
        """Stores what Bitrix24 now knows (and a new invoice's funnel); `close` takes the document out of the
        sweep. False when another sweep changed it since it was read (that sweep told the transition)."""
        values: dict[str, AttributeValueTypeDef] = {
            ":told": {"S": told.dump()},
            ":now": {"N": str(int(clock.now()))},
        }
        update = "SET sync_told = :told, synced_at = :now"
        if category is not None:
            update += ", sync_category = :category"
            values[":category"] = {"N": str(category)}
        if document.told_raw:
            condition = "sync_told = :seen"
            values[":seen"] = {"S": document.told_raw}
        else:
            condition = "attribute_exists(pk) AND attribute_not_exists(sync_told)"
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": document.key}},
                UpdateExpression=update + (" REMOVE open_portal" if close else ""),
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


def _document(item: dict[str, Any]) -> OpenDocument | None:
    key = item.get("pk", {}).get("S", "")
    _, _, rest = key.partition("#")
    kind, _, entity_id = rest.partition("#")
    ref = item.get("onec_ref_key", {}).get("S", "")
    if kind not in EntityType.__members__.values() or not entity_id.isdigit() or not ref:
        return None
    return OpenDocument(
        key=key,
        entity_type=EntityType(kind),
        entity_id=int(entity_id),
        ref=ref.lower(),
        number=item.get("onec_number", {}).get("S", ""),
        told_raw=item.get("sync_told", {}).get("S", ""),
        opened_at=int(item.get("opened_at", {}).get("N", "0")),
        category=int(item["sync_category"]["N"]) if "N" in item.get("sync_category", {}) else None,
    )
