"""A small in-memory DynamoDB of the operations the bridge uses, for `make bench` (local.aws.lean_server): tables
with a hash (and optional range) key and sparse global secondary indexes with their projections; GetItem,
BatchGetItem, PutItem, UpdateItem, DeleteItem and Query (on the table or an index, paged) with condition, update,
key-condition and projection expressions (local.aws.lean_expressions) and ReturnValues; CreateTable,
DescribeTable, UpdateTimeToLive, UpdateContinuousBackups.

Every operation runs under one lock, so a conditional write is atomic as in DynamoDB. The operations take and
give the service's JSON shapes; tests/local/aws/test_lean_parity.py runs the same requests against moto and
this and asserts identical answers.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.aws import lean_expressions as expr

REGION_ACCOUNT = "eu-central-1:123456789012"


class ServiceError(Exception):
    def __init__(self, code: str, message: str, status: int = 400, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra or {}


@dataclass
class _Index:
    name: str
    hash_key: str
    range_key: str | None
    projection: str  # ALL, KEYS_ONLY, INCLUDE
    include: tuple[str, ...]
    description: dict[str, Any]


@dataclass
class _Table:
    name: str
    hash_key: str
    range_key: str | None
    description: dict[str, Any]
    indexes: dict[str, _Index]
    items: dict[tuple[str, ...], expr.Item] = field(default_factory=dict)

    def key_of(self, key: dict[str, Any]) -> tuple[str, ...]:
        names = [self.hash_key] + ([self.range_key] if self.range_key else [])
        if set(key) != set(names):
            raise ServiceError("ValidationException", "The provided key element does not match the schema")
        return tuple(_scalar(key[name]) for name in names)

    def key_attributes(self) -> tuple[str, ...]:
        return (self.hash_key,) + ((self.range_key,) if self.range_key else ())


def _scalar(value: dict[str, Any]) -> str:
    kind, raw = next(iter(value.items()))
    return f"{kind}:{raw}"


def _key_schema(schema: list[dict[str, str]]) -> tuple[str, str | None]:
    hash_key = next(part["AttributeName"] for part in schema if part["KeyType"] == "HASH")
    range_key = next((part["AttributeName"] for part in schema if part["KeyType"] == "RANGE"), None)
    return hash_key, range_key


class LeanDynamoDB:
    def __init__(self) -> None:
        self._tables: dict[str, _Table] = {}
        self._lock = threading.Lock()
        self.calls: dict[str, int] = {}

    def handle(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        method: Callable[[dict[str, Any]], dict[str, Any]] | None = getattr(self, f"_op_{operation}", None)
        if method is None:
            raise ServiceError("UnknownOperationException", f"the lean local DynamoDB has no {operation}")
        with self._lock:
            self.calls[operation] = self.calls.get(operation, 0) + 1
            try:
                return method(request)
            except expr.ExpressionError as exc:
                raise ServiceError("ValidationException", str(exc)) from exc

    # ---- tables ----------------------------------------------------------------------------------------

    def _table(self, name: str) -> _Table:
        table = self._tables.get(name)
        if table is None:
            raise ServiceError("ResourceNotFoundException", "Requested resource not found")
        return table

    def _op_CreateTable(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["TableName"]
        if name in self._tables:
            raise ServiceError("ResourceInUseException", f"Table already exists: {name}")
        hash_key, range_key = _key_schema(request["KeySchema"])
        arn = f"arn:aws:dynamodb:{REGION_ACCOUNT}:table/{name}"
        indexes: dict[str, _Index] = {}
        described_indexes = []
        for index in request.get("GlobalSecondaryIndexes", []):
            index_hash, index_range = _key_schema(index["KeySchema"])
            projection = index.get("Projection", {})
            description = {
                "IndexName": index["IndexName"],
                "KeySchema": index["KeySchema"],
                "Projection": projection,
                "IndexStatus": "ACTIVE",
                "IndexArn": f"{arn}/index/{index['IndexName']}",
            }
            indexes[index["IndexName"]] = _Index(
                index["IndexName"],
                index_hash,
                index_range,
                projection.get("ProjectionType", "ALL"),
                tuple(projection.get("NonKeyAttributes", ())),
                description,
            )
            described_indexes.append(description)
        description = {
            "TableName": name,
            "TableArn": arn,
            "TableStatus": "ACTIVE",
            "KeySchema": request["KeySchema"],
            "AttributeDefinitions": request.get("AttributeDefinitions", []),
            "BillingModeSummary": {"BillingMode": request.get("BillingMode", "PROVISIONED")},
            "ItemCount": 0,
            **({"GlobalSecondaryIndexes": described_indexes} if described_indexes else {}),
        }
        self._tables[name] = _Table(name, hash_key, range_key, description, indexes)
        return {"TableDescription": description}

    def _op_DescribeTable(self, request: dict[str, Any]) -> dict[str, Any]:
        table = self._table(request["TableName"])
        return {"Table": {**table.description, "ItemCount": len(table.items)}}

    def _op_UpdateTimeToLive(self, request: dict[str, Any]) -> dict[str, Any]:
        self._table(request["TableName"])
        return {"TimeToLiveSpecification": request["TimeToLiveSpecification"]}

    def _op_UpdateContinuousBackups(self, request: dict[str, Any]) -> dict[str, Any]:
        self._table(request["TableName"])
        enabled = request["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
        return {
            "ContinuousBackupsDescription": {
                "ContinuousBackupsStatus": "ENABLED",
                "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "ENABLED" if enabled else "DISABLED"},
            }
        }

    # ---- items -----------------------------------------------------------------------------------------

    def _op_GetItem(self, request: dict[str, Any]) -> dict[str, Any]:
        table = self._table(request["TableName"])
        context = _context(request)
        context.check(request.get("ProjectionExpression"))
        item = table.items.get(table.key_of(request["Key"]))
        if item is None:
            return {}
        return {"Item": _project(item, request.get("ProjectionExpression"), context)}

    def _op_BatchGetItem(self, request: dict[str, Any]) -> dict[str, Any]:
        responses: dict[str, list[expr.Item]] = {}
        for name, wanted in request["RequestItems"].items():
            table = self._table(name)
            context = _context(wanted)
            context.check(wanted.get("ProjectionExpression"))
            found = responses.setdefault(name, [])
            for key in wanted["Keys"]:
                item = table.items.get(table.key_of(key))
                if item is not None:
                    found.append(_project(item, wanted.get("ProjectionExpression"), context))
        return {"Responses": responses, "UnprocessedKeys": {}}

    def _op_PutItem(self, request: dict[str, Any]) -> dict[str, Any]:
        table = self._table(request["TableName"])
        item = request["Item"]
        key = table.key_of({name: item[name] for name in table.key_attributes() if name in item})
        old = self._checked(table, key, request)
        table.items[key] = copy.deepcopy(item)
        return {"Attributes": old} if old and request.get("ReturnValues") == "ALL_OLD" else {}

    def _op_DeleteItem(self, request: dict[str, Any]) -> dict[str, Any]:
        table = self._table(request["TableName"])
        key = table.key_of(request["Key"])
        old = self._checked(table, key, request)
        table.items.pop(key, None)
        return {"Attributes": old} if old and request.get("ReturnValues") == "ALL_OLD" else {}

    def _op_UpdateItem(self, request: dict[str, Any]) -> dict[str, Any]:
        table = self._table(request["TableName"])
        key = table.key_of(request["Key"])
        context = _context(request)
        context.check(request.get("UpdateExpression"), request.get("ConditionExpression"))
        old = self._checked(table, key, request, checked=True) or {}
        parsed = expr.update(request.get("UpdateExpression") or "")
        targets = parsed.targets(context)
        if set(targets) & set(table.key_attributes()):
            raise ServiceError(
                "ValidationException",
                "One or more parameter values were invalid: Cannot update attribute "
                f"{next(t for t in targets if t in table.key_attributes())}. This attribute is part of the key",
            )
        new = parsed.apply(old if old else dict(request["Key"]), context)
        new.update(request["Key"])
        table.items[key] = new
        answer: dict[str, Any] = {}
        returned = request.get("ReturnValues", "NONE")
        # UPDATED_*: the attributes whose value the update changed (as moto compares them)
        changed = {name for name in {*old, *new} if old.get(name) != new.get(name)}
        chosen = {
            "ALL_OLD": old,
            "ALL_NEW": new,
            "UPDATED_OLD": {name: value for name, value in old.items() if name in changed},
            "UPDATED_NEW": {name: value for name, value in new.items() if name in changed},
        }.get(returned)
        if chosen:
            answer["Attributes"] = copy.deepcopy(chosen)
        return answer

    def _checked(
        self, table: _Table, key: tuple[str, ...], request: dict[str, Any], *, checked: bool = False
    ) -> expr.Item | None:
        """The item now (None when absent), once the request's ConditionExpression holds for it."""
        old = table.items.get(key)
        text = request.get("ConditionExpression")
        if not checked:
            _context(request).check(text)
        if text and not expr.condition(text)(old or {}, _context(request)):
            extra = {}
            if old is not None and request.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD":
                extra["Item"] = copy.deepcopy(old)
            raise ServiceError("ConditionalCheckFailedException", "The conditional request failed", extra=extra)
        return copy.deepcopy(old) if old is not None else None

    def _op_Query(self, request: dict[str, Any]) -> dict[str, Any]:
        table = self._table(request["TableName"])
        context = _context(request)
        key_text = request["KeyConditionExpression"]
        context.check(key_text, request.get("FilterExpression"), request.get("ProjectionExpression"))
        index = table.indexes.get(request["IndexName"]) if "IndexName" in request else None
        if "IndexName" in request and index is None:
            raise ServiceError(
                "ValidationException", f"The table does not have the specified index: {request['IndexName']}"
            )
        hash_key, range_key = (index.hash_key, index.range_key) if index else (table.hash_key, table.range_key)
        matches = expr.condition(key_text)
        candidates = [
            item
            for item in table.items.values()
            if hash_key in item and (range_key is None or range_key in item) and matches(item, context)
        ]

        def order(item: expr.Item) -> tuple[Any, ...]:
            return (
                expr.order_key(item[range_key]) if range_key else (0, 0),
                tuple(expr.order_key(item[name]) for name in table.key_attributes()),
            )

        candidates.sort(key=order, reverse=not request.get("ScanIndexForward", True))
        start = request.get("ExclusiveStartKey")
        if start:
            key_names = dict.fromkeys((*table.key_attributes(), hash_key, *([range_key] if range_key else ())))
            position = next(
                (
                    place
                    for place, item in enumerate(candidates)
                    if all(expr.equal(item.get(name), start.get(name)) for name in key_names)
                ),
                None,
            )
            candidates = candidates[position + 1 :] if position is not None else candidates
        limit = request.get("Limit")
        page = candidates[:limit] if limit else candidates
        answer: dict[str, Any] = {}
        if limit and len(candidates) > limit:
            last = page[-1]
            names = (*table.key_attributes(), *((hash_key, *([range_key] if range_key else ())) if index else ()))
            answer["LastEvaluatedKey"] = {name: copy.deepcopy(last[name]) for name in dict.fromkeys(names)}
        scanned = len(page)
        if request.get("FilterExpression"):
            keep = expr.condition(request["FilterExpression"])
            page = [item for item in page if keep(item, context)]
        projected = [self._index_view(table, index, item) for item in page]
        items = [_project(item, request.get("ProjectionExpression"), context) for item in projected]
        return {"Items": items, "Count": len(items), "ScannedCount": scanned, **answer}

    @staticmethod
    def _index_view(table: _Table, index: _Index | None, item: expr.Item) -> expr.Item:
        if index is None or index.projection == "ALL":
            return item
        keys = {*table.key_attributes(), index.hash_key, *([index.range_key] if index.range_key else ())}
        kept = keys | set(index.include) if index.projection == "INCLUDE" else keys
        return {name: value for name, value in item.items() if name in kept}


def _context(request: dict[str, Any]) -> expr.Context:
    return expr.Context(request.get("ExpressionAttributeNames") or {}, request.get("ExpressionAttributeValues") or {})


def _project(item: expr.Item, text: str | None, context: expr.Context) -> expr.Item:
    if not text:
        return copy.deepcopy(item)
    names = [context.name(path) for path in expr.projection(text)]
    return {name: copy.deepcopy(item[name]) for name in names if name in item}
