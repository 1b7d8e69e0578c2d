"""The calls on the ledger table that its deal items, portal pin and checkpoints share: read one item, read
many in batches, write one item under a condition."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

BATCH_GET_LIMIT = 100  # keys in one BatchGetItem call


def read_item(client: DynamoDBClient, table: str, key: str) -> dict[str, Any] | None:
    """The item under `key` (a strongly consistent read), or None."""
    return client.get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True).get("Item")


def read_items(
    client: DynamoDBClient, table: str, keys: Sequence[str], projection: str = ""
) -> Iterator[dict[str, Any]]:
    """The items of those `keys` that exist, in any order: BatchGetItem calls of 100 keys, each repeated for the
    keys DynamoDB left unprocessed."""
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        request: dict[str, Any] = {
            table: {
                "Keys": [{"pk": {"S": key}} for key in keys[start : start + BATCH_GET_LIMIT]],
                "ConsistentRead": True,
                **({"ProjectionExpression": projection} if projection else {}),
            }
        }
        while request:
            answer = client.batch_get_item(RequestItems=request)
            yield from answer.get("Responses", {}).get(table, [])
            request = dict(answer.get("UnprocessedKeys") or {})


def write_if(
    client: DynamoDBClient,
    table: str,
    key: str,
    *,
    update: str,
    condition: str,
    values: dict[str, AttributeValueTypeDef],
    names: dict[str, str] | None = None,
    old: bool = False,
) -> dict[str, Any] | None:
    """Updates the item under `key` when `condition` holds. None when it did not; otherwise the item's attributes
    before the write when `old` is asked for ({} when it did not exist), else {}."""
    request: dict[str, Any] = {
        "TableName": table,
        "Key": {"pk": {"S": key}},
        "UpdateExpression": update,
        "ConditionExpression": condition,
    }
    if names:
        request["ExpressionAttributeNames"] = names
    request["ExpressionAttributeValues"] = values
    if old:
        request["ReturnValues"] = "ALL_OLD"
    try:
        answer = client.update_item(**request)
    except ClientError as exc:
        if condition_failed(exc):
            return None
        raise
    return dict(answer.get("Attributes") or {})


def condition_failed(exc: ClientError) -> bool:
    """The write was refused because its condition did not hold (nothing was written)."""
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
