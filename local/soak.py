"""`make soak`: many won deals, duplicate deliveries and random faults on both sides, then an account of
every deal: created + rejected + dead-lettered must cover them all, and no deal may have two documents.

Faults: Bitrix24 answers 503 (rate limit) or 500 now and then; 1C answers 500, or stores a document and
loses the answer (504). A fault is injected at random moments while the queue drains.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from invoice_bridge.events import QueueMessage
from invoice_bridge.ledger import Ledger, LedgerStatus
from local.seed import DEALS, PORTAL_MEMBER_ID
from local.stack import LocalStack
from local.webhooks import FORM_HEADERS, webhook_body

FIRST_ID = 50001


@dataclass(frozen=True)
class SoakReport:
    deals: int
    deliveries: int
    created: int
    rejected: int
    dead_lettered: int
    unaccounted: int
    duplicated: int  # deals with more than one 1C document
    faults: int
    seconds: float

    @property
    def ok(self) -> bool:
        return self.unaccounted == 0 and self.duplicated == 0

    def render(self) -> str:
        return "\n".join(
            [
                f"deals:            {self.deals} ({self.deliveries} webhook deliveries, duplicates included)",
                f"faults injected:  {self.faults}",
                f"created:          {self.created}",
                f"rejected:         {self.rejected}",
                f"dead-lettered:    {self.dead_lettered}",
                f"unaccounted:      {self.unaccounted}",
                f"with 2+ documents:{self.duplicated:>5}",
                f"elapsed:          {self.seconds:.1f} s",
                "every deal accounted for, none duplicated" if self.ok else "FAILED: see the counts above",
            ]
        )


def run_soak(deal_count: int, *, duplicate_share: float = 0.2, fault_every: float = 1.0, seed: int = 7) -> SoakReport:
    chance = random.Random(seed)  # noqa: S311 - test data, not cryptography
    valid = next(deal for deal in DEALS if deal.id == 1001)
    broken = next(deal for deal in DEALS if deal.id == 1005)
    stack = LocalStack(log_level="ERROR").start()
    started = time.monotonic()
    stop_faults = threading.Event()
    faults = Counter[str]()

    def inject_faults() -> None:
        while not stop_faults.wait(fault_every):
            kind = chance.choice(["bitrix503", "bitrix500", "onec500", "onec_lost_answer"])
            faults[kind] += 1
            if kind == "bitrix503":
                stack.bitrix.fail_next(1)
            elif kind == "bitrix500":
                stack.bitrix.fail_next(1, status=500, error="INTERNAL_SERVER_ERROR", description="soak")
            elif kind == "onec500":
                stack.onec.fail_next(1, status=500, code="-1", message="soak")
            else:
                stack.onec.fail_next(1, status=504, code="-1", message="soak", after_write=True, http_method="POST")

    try:
        deal_ids = [FIRST_ID + index for index in range(deal_count)]
        for deal_id in deal_ids:
            template = broken if chance.random() < 0.05 else valid
            stack.bitrix.set_deal(dataclasses.replace(template, id=deal_id, title=f"Soak {deal_id}"))
        deliveries = deal_ids + chance.sample(deal_ids, int(deal_count * duplicate_share))
        chance.shuffle(deliveries)
        faulting = threading.Thread(target=inject_faults, daemon=True)
        faulting.start()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(
                pool.map(
                    lambda deal_id: requests.post(
                        stack.webhook_url, data=webhook_body(deal_id), headers=FORM_HEADERS, timeout=30
                    ),
                    deliveries,
                )
            )
        stack.event_source.wait_until_drained(timeout_seconds=1800)
        stop_faults.set()
        faulting.join()
        return _account(stack, deal_ids, len(deliveries), sum(faults.values()), time.monotonic() - started)
    finally:
        stop_faults.set()
        stack.stop()


def _account(stack: LocalStack, deal_ids: list[int], deliveries: int, faults: int, seconds: float) -> SoakReport:
    assert stack.resources is not None  # noqa: S101
    records = Ledger(stack.dynamodb, stack.resources.table_name).get_many(
        f"{PORTAL_MEMBER_ID}#deal#{deal_id}" for deal_id in deal_ids
    )
    created = {r.pk for r in records.values() if r.status is LedgerStatus.CREATED}
    rejected = {r.pk for r in records.values() if r.status is LedgerStatus.REJECTED}
    dead = _dead_letters(stack)
    documents = Counter(
        marker
        for doc in stack.onec.documents()
        for marker in [str(doc.get("Комментарий", "")).rsplit("[", 1)[-1].rstrip("]")]
    )
    keys = {f"{PORTAL_MEMBER_ID}#deal#{deal_id}" for deal_id in deal_ids}
    return SoakReport(
        deals=len(deal_ids),
        deliveries=deliveries,
        created=len(created),
        rejected=len(rejected),
        dead_lettered=len(dead - created - rejected),
        unaccounted=len(keys - created - rejected - dead),
        duplicated=sum(1 for count in documents.values() if count > 1),
        faults=faults,
        seconds=seconds,
    )


def _dead_letters(stack: LocalStack) -> set[str]:
    assert stack.resources is not None  # noqa: S101
    keys: set[str] = set()
    while messages := stack.sqs.receive_message(
        QueueUrl=stack.resources.dead_letter_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
    ).get("Messages", []):
        for message in messages:
            keys.add(QueueMessage.model_validate_json(message["Body"]).ledger_key)
            stack.sqs.delete_message(
                QueueUrl=stack.resources.dead_letter_queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
    return keys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deals", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    report = run_soak(args.deals, seed=args.seed)
    print(report.render())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
