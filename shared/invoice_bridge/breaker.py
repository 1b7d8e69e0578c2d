"""Circuit breakers per upstream: one per Bitrix24 portal (its member_id) and one per 1C base (a hash of its
OData URL without credentials).

Why this design:
- An upstream that is down should not cost a call — and a receive of every message — per minute. After
  `failure_threshold` consecutive transient failures the breaker opens: messages for that upstream are not sent
  to it but put back with a visibility that reaches past the next probe time (retry.py adds jitter), so an
  outage costs each message about one receive per backoff step instead of one per poll.
- State lives in the ledger table (items `breaker#<upstream>`), not in memory: Lambda runs many short-lived
  execution environments and each would otherwise learn of the outage by failing on its own. Every change is a
  conditional write; the state is read once per invocation and upstream.
- Half-open with a single probe: when the open period ends, the first worker to move `probe_at` forward with a
  conditional write (`probe_at = :seen`) holds the probe slot and makes one real call; all others keep waiting.
  A success closes the breaker; a failure keeps it open for another `open_seconds`.
- A stuck probe (the prober crashed or timed out) needs no clean-up: taking the slot already pushed `probe_at`
  one open period ahead, so when that passes another worker takes the slot and probes.
- 1C credentials in the OData URL never reach the key (the URL is stripped of user info and hashed).

Metrics: BreakerOpened, BreakerClosed, BreakerShortCircuited (each with the upstream kind as `upstream`
property in the log line, not as a dimension).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from botocore.exceptions import ClientError

from invoice_bridge import clock
from invoice_bridge.observability import logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BREAKER_PREFIX = "breaker#"


def bitrix24_upstream(member_id: str) -> str:
    return f"bitrix24:{member_id}"


def onec_upstream(odata_url: str) -> str:
    """The 1C base's key: a hash of its URL without user info, query or fragment (never the credentials)."""
    parts = urlsplit(odata_url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    bare = urlunsplit((parts.scheme.lower(), netloc.lower(), parts.path.rstrip("/"), "", ""))
    return "onec:" + hashlib.sha256(bare.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class BreakerSettings:
    failure_threshold: int
    open_seconds: int


class _State(StrEnum):
    UNKNOWN = "unknown"  # not read yet in this invocation
    CLOSED = "closed"
    OPEN = "open"
    PROBING = "probing"  # this invocation holds the probe slot


class Breaker:
    """One upstream's breaker as one invocation sees it. Make a new one per invocation (`BreakerStore.breaker`)."""

    def __init__(self, client: DynamoDBClient, table: str, upstream: str, settings: BreakerSettings) -> None:
        self._client = client
        self._table = table
        self._key = {"pk": {"S": BREAKER_PREFIX + upstream}}
        self.upstream = upstream
        self._settings = settings
        self._state = _State.UNKNOWN
        self._failures = 0
        self._probe_at = 0.0
        self._probe_pending = False  # the probe slot is ours and its one call has not been admitted yet
        self._owner = uuid.uuid4().hex

    def closed(self) -> bool:
        """Whether calls go through freely (no probe slot is taken: an optional call asks this, not `admit`)."""
        if self._state is _State.UNKNOWN:
            self._load()
        return self._state is _State.CLOSED

    def admit(self) -> float | None:
        """None: call the upstream. A time: do not call it; try again at that time (the next probe)."""
        if self._state is _State.UNKNOWN:
            self._load()
        if self._state is _State.CLOSED:
            return None
        if self._state is _State.PROBING and self._probe_pending:
            self._probe_pending = False
            return None
        metrics.add_metric(name="BreakerShortCircuited", unit="Count", value=1)
        return self._probe_at

    def succeeded(self) -> None:
        if self._state is _State.CLOSED and self._failures == 0:
            return
        answer = self._client.update_item(
            TableName=self._table,
            Key=self._key,
            UpdateExpression="SET failures = :zero, updated_at = :now REMOVE probe_at, probe_owner, opened_at",
            ExpressionAttributeValues={":zero": {"N": "0"}, ":now": {"N": str(int(clock.now()))}},
            ReturnValues="UPDATED_OLD",
        )
        was_open = "probe_at" in answer.get("Attributes", {})
        self._state, self._failures = _State.CLOSED, 0
        if was_open:
            metrics.add_metric(name="BreakerClosed", unit="Count", value=1)
            logger.info("circuit breaker closed", extra={"upstream": self.upstream})

    def failed(self) -> None:
        """A transient failure of a real call to the upstream."""
        now = clock.now()
        answer = self._client.update_item(
            TableName=self._table,
            Key=self._key,
            UpdateExpression="ADD failures :one SET updated_at = :now",
            ExpressionAttributeValues={":one": {"N": "1"}, ":now": {"N": str(int(now))}},
            ReturnValues="ALL_NEW",
        )
        item = answer.get("Attributes", {})
        self._failures = _number(item, "failures")
        next_probe = now + self._settings.open_seconds
        if self._state is _State.PROBING:
            # the probe failed: stay open for another period (unless someone else took the slot meanwhile)
            if self._conditional_set_probe(next_probe, "probe_owner = :owner", {":owner": {"S": self._owner}}):
                self._probe_at = next_probe
            else:
                self._read()
            self._state = _State.OPEN
            logger.warning("circuit breaker probe failed", extra={"upstream": self.upstream})
            return
        if "probe_at" in item:
            self._state, self._probe_at = _State.OPEN, float(_number(item, "probe_at"))
            return
        if self._failures >= self._settings.failure_threshold:
            if self._conditional_set_probe(next_probe, "attribute_not_exists(probe_at)", {}):
                metrics.add_metric(name="BreakerOpened", unit="Count", value=1)
                logger.warning(
                    "circuit breaker opened",
                    extra={"upstream": self.upstream, "failures": self._failures, "probe_at": int(next_probe)},
                )
                self._state, self._probe_at = _State.OPEN, next_probe
            else:
                self._read()

    # ---- DynamoDB ----------------------------------------------------------------------------------------

    def _load(self) -> None:
        self._read()
        if self._state is _State.OPEN and clock.now() >= self._probe_at:
            self._take_probe_slot()

    def _read(self) -> None:
        item = self._client.get_item(TableName=self._table, Key=self._key, ConsistentRead=True).get("Item", {})
        self._failures = _number(item, "failures")
        if "probe_at" in item:
            self._state, self._probe_at = _State.OPEN, float(_number(item, "probe_at"))
        else:
            self._state = _State.CLOSED

    def _take_probe_slot(self) -> None:
        """The first worker to move probe_at forward probes; the others wait for the new probe_at."""
        seen = self._probe_at
        next_probe = clock.now() + self._settings.open_seconds
        if self._conditional_set_probe(
            next_probe, "probe_at = :seen", {":seen": {"N": str(int(seen))}}, owner=self._owner
        ):
            self._state, self._probe_at, self._probe_pending = _State.PROBING, next_probe, True
            logger.info("circuit breaker probing", extra={"upstream": self.upstream})
        else:
            self._read()

    def _conditional_set_probe(
        self, probe_at: float, condition: str, values: dict[str, Any], *, owner: str | None = None
    ) -> bool:
        update = "SET probe_at = :probe_at, updated_at = :now, opened_at = if_not_exists(opened_at, :now)"
        extra: dict[str, Any] = {}
        if owner is not None:
            update += ", probe_owner = :new_owner"
            extra[":new_owner"] = {"S": owner}
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key,
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues={
                    ":probe_at": {"N": str(int(probe_at))},
                    ":now": {"N": str(int(clock.now()))},
                    **values,
                    **extra,
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


class BreakerStore:
    """Makes the breakers of one invocation; they share the ledger table."""

    def __init__(self, client: DynamoDBClient, table: str, settings: BreakerSettings) -> None:
        self._client = client
        self._table = table
        self._settings = settings

    def breaker(self, upstream: str) -> Breaker:
        return Breaker(self._client, self._table, upstream, self._settings)


def _number(item: dict[str, Any], name: str) -> int:
    value = item.get(name, {})
    return int(value["N"]) if isinstance(value, dict) and "N" in value else 0
