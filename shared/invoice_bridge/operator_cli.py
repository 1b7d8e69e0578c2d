"""`invoice-bridge` — operator commands for a deployed stack (`--stack NAME`) or `make run`'s (`--local`).

status  --deal N | --invoice N     the ledger record and the 1C document of one deal or new invoice
replay  --deal N | --invoice N     queue it again (processing is idempotent: identical content is a no-op)
replay  --since DATE [--until DATE] queue every entity in a trigger stage modified in that range
redrive                            move everything from the dead-letter queue back to the queue
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3

from invoice_bridge.bitrix24.client import Bitrix24Client
from invoice_bridge.events import EntityType, QueueMessage, external_key
from invoice_bridge.ledger.deals import Ledger
from invoice_bridge.ledger.portal_pin import PortalPin, PortalPinStore
from invoice_bridge.onec.client import ODataClient, ODataError
from invoice_bridge.onec.document_keys import read_by_ref
from invoice_bridge.onec.documents import PROFILES
from invoice_bridge.portals import Portal, configured_portals
from invoice_bridge.queue import InvoiceQueue
from invoice_bridge.reconciler import list_changed
from invoice_bridge.secret import BridgeSecret, parse_secret

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

LOCAL_STATE = Path(".local-stack.json")  # written by `make run` while it serves
OPERATOR_EVENT = "OPERATOR_REPLAY"


@dataclass(frozen=True)
class Target:
    """Where the stack lives: its outputs, and for the local stack the moto endpoint."""

    queue_url: str
    dead_letter_queue_url: str
    table_name: str
    secret_id: str
    trigger_stage_ids: tuple[str, ...] = ()
    document_kind: str = "buyer_invoice"
    endpoint_url: str | None = None
    region: str | None = None

    def client(self, service: str) -> Any:
        extra: dict[str, Any] = {}
        if self.endpoint_url:
            extra = {"endpoint_url": self.endpoint_url, "aws_access_key_id": "local", "aws_secret_access_key": "local"}
        return boto3.client(service, region_name=self.region, **extra)  # type: ignore[call-overload]


def deployed_target(stack: str, region: str | None) -> Target:
    described = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])}
    try:
        return Target(
            queue_url=outputs["QueueUrl"],
            dead_letter_queue_url=outputs["DeadLetterQueueUrl"],
            table_name=outputs["LedgerTableName"],
            secret_id=outputs["SecretArn"],
            trigger_stage_ids=tuple(s.strip() for s in parameters.get("TriggerStageIds", "").split(",") if s.strip()),
            document_kind=parameters.get("DocumentKind", "buyer_invoice"),
            region=region,
        )
    except KeyError as missing:
        raise SystemExit(f"stack {stack} has no output {missing}: is it an invoice-bridge stack?") from None


def local_target(state: Path) -> Target:
    not_running = f"the local stack is not running ({state} %s): start the local stack with `make run` first"
    if not state.exists():
        raise SystemExit(not_running % "not found")
    try:
        raw = json.loads(state.read_text(encoding="utf-8"))
        raw["trigger_stage_ids"] = tuple(raw.get("trigger_stage_ids", ()))
        target = Target(**raw)
    except (ValueError, TypeError, AttributeError):
        raise SystemExit(not_running % "is unreadable") from None
    if target.endpoint_url and not _answers(target.endpoint_url):
        # left behind by a `make run` that was killed: nothing listens at its endpoint any more
        raise SystemExit(not_running % f"is stale: nothing answers at {target.endpoint_url}")
    return target


def _answers(endpoint_url: str) -> bool:
    address = urlsplit(endpoint_url)
    try:
        with socket.create_connection((address.hostname or "127.0.0.1", address.port or 80), timeout=2):
            return True
    except OSError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="invoice-bridge", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stack", default="invoice-bridge", help="the deployed stack's name (default invoice-bridge)")
    where.add_argument("--local", action="store_true", help="make run's local stack (another terminal)")
    parser.add_argument("--state-file", type=Path, default=LOCAL_STATE, help=f"with --local (default {LOCAL_STATE})")
    parser.add_argument("--region", help="AWS region of the deployed stack")
    parser.add_argument("--member-id", help="the portal's member_id, when the ledger knows several portals")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("status", "replay"):
        command = commands.add_parser(name)
        which = command.add_mutually_exclusive_group(required=True)
        which.add_argument("--deal", type=int)
        which.add_argument("--invoice", type=int, help="a new invoice (entityTypeId 31)")
        if name == "replay":
            which.add_argument(
                "--since", type=_moment, help="e.g. 2026-11-01 or 2026-11-01T09:00+03:00 (UTC if no zone)"
            )
            command.add_argument("--until", type=_moment)
    commands.add_parser("redrive")
    args = parser.parse_args(argv)

    target = local_target(args.state_file) if args.local else deployed_target(args.stack, args.region)
    if args.command == "redrive":
        moved = redrive(target.client("sqs"), target.dead_letter_queue_url, target.queue_url)
        print(f"moved {moved} message{'s' if moved != 1 else ''} from the dead-letter queue back to the queue")
        return 0
    dynamodb = target.client("dynamodb")
    secret = _secret(target)
    pin = PortalPinStore(dynamodb, target.table_name).portal_pin() if secret.single_portal else None
    portals = {p.member_id: p for p in configured_portals(secret, pin)}
    member_id = args.member_id or (next(iter(portals)) if len(portals) == 1 else None)
    if member_id is None or member_id not in portals:
        known = ", ".join(p for p in portals if p) or "none yet: the single portal is pinned by its first event"
        print(f"say which portal with --member-id (configured portals: {known})", file=sys.stderr)
        return 2
    portal = portals[member_id]
    if not portal.member_id:
        print("the single portal is not pinned yet: no event has been accepted from it", file=sys.stderr)
        return 2
    if args.command == "status":
        entity = (EntityType.INVOICE, args.invoice) if args.invoice else (EntityType.DEAL, args.deal)
        print(status(Ledger(dynamodb, target.table_name), pin, portal, target, *entity))
        return 0
    queue = InvoiceQueue(target.client("sqs"), target.queue_url)
    if args.since:
        bitrix = Bitrix24Client(portal.webhook_url, timeout=10)
        changed, complete = list_changed(bitrix, target.trigger_stage_ids, args.since, max_requests=50)
        keys = [(c.entity_type, c.entity_id) for c in changed if args.until is None or c.modified <= args.until]
        if not complete:
            print("the range is larger than one run lists; replay a narrower one for the rest", file=sys.stderr)
    else:
        keys = [(EntityType.INVOICE, args.invoice) if args.invoice else (EntityType.DEAL, args.deal)]
    domain = portal.domain
    now = int(datetime.now(UTC).timestamp())
    queue.send_many(
        QueueMessage(member_id=member_id, domain=domain, entity_type=t, entity_id=i, event=OPERATOR_EVENT, ts=now)
        for t, i in keys
    )
    print(
        f"queued {len(keys)}: " + ", ".join(f"{t.value} {i}" for t, i in keys[:20]) + (" …" if len(keys) > 20 else "")
    )
    return 0


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _secret(target: Target) -> BridgeSecret:
    raw = target.client("secretsmanager").get_secret_value(SecretId=target.secret_id)["SecretString"]
    return parse_secret(json.loads(raw), target.secret_id)


def status(
    ledger: Ledger, pin: PortalPin | None, portal: Portal, target: Target, kind: EntityType, entity_id: int
) -> str:
    member_id = portal.member_id
    lines = [f"{kind.value} {entity_id} of portal {member_id} ({portal.domain})"]
    if portal.pinned:
        stamp = datetime.fromtimestamp(pin.pinned_at, UTC).isoformat() if pin else "-"
        lines.append(
            f"  pin: the single portal is pinned to member_id {member_id}, domain {portal.domain} since {stamp}"
        )
    record = ledger.get(f"{member_id}#{kind.value}#{entity_id}")
    if record is None:
        lines.append("  ledger: no record (never processed, or not in a trigger stage when it was)")
    else:
        stamp = datetime.fromtimestamp(record.updated_at, UTC).isoformat() if record.updated_at else "-"
        lines.append(f"  ledger: {record.status.value}, updated {stamp}, {record.attempts} attempt(s)")
        if record.onec_number:
            lines.append(
                f"          1C {record.onec_number} ({record.onec_ref_key}), {record.total}, VAT {record.vat_total}"
            )
        lines.extend(f"          reason: {reason}" for reason in record.reasons)
        if record.last_error:
            lines.append(f"          last error: {record.last_error}")
    onec = ODataClient(
        portal.onec.odata_url,
        username=portal.onec.username,
        password=portal.onec.password.get_secret_value(),
        timeout=10,
    )
    entity_set = PROFILES[target.document_kind].primary_set
    if record is None or not record.onec_ref_key:
        # the ledger is the first truth: without a recorded document there is nothing to read by key
        unknown = record.outcome_unknown_since() if record is not None else None
        lines.append(
            f"  1C: the ledger records no {entity_set}"
            + (
                "; an attempt's outcome is unknown, the next one looks 1C up by the key "
                f"[{external_key(member_id, kind, entity_id)}]"
                if unknown
                else ""
            )
        )
        return "\n".join(lines)
    try:
        document = read_by_ref(onec, entity_set, record.onec_ref_key)
    except ODataError as exc:
        lines.append(f"  1C: could not look: {exc.explain()}")
        return "\n".join(lines)
    if document is None:
        lines.append(f"  1C: {entity_set} {record.onec_ref_key} is gone (deleted or marked for deletion)")
    else:
        state = "posted" if document.posted else "draft, not posted"
        lines.append(f"  1C: {entity_set} {document.number} of {document.date}, {document.total:.2f}, {state}")
    return "\n".join(lines)


def redrive(sqs: SQSClient, dead_letter_queue_url: str, queue_url: str) -> int:
    moved = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=dead_letter_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return moved
        for message in messages:
            sqs.send_message(
                QueueUrl=queue_url, MessageBody=message["Body"], MessageAttributes=message.get("MessageAttributes", {})
            )
            sqs.delete_message(QueueUrl=dead_letter_queue_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1


if __name__ == "__main__":
    sys.exit(main())
