"""`make bench-status`: the status sync over N open documents (default 500) through its real handler.

Each document is a deal of portal A with a buyer invoice in the 1C sandbox, recorded in the ledger the way the
processor records it. The accountant then posts every document and pays some in part, some in full and cancels
a few; one scheduled run of the status sync tells all of it, a second run finds nothing new. Prints the 1C and
Bitrix24 requests of each run beside the issue's bounds (1C ≤ 3·⌈open / 40⌉ + 1, Bitrix24 ≤ ⌈writes / 50⌉ + 1)
and the run's time against the function's timeout.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import uuid
from datetime import datetime
from decimal import Decimal

from invoice_bridge.ledger.deals import Ledger
from local.aws.lambda_runtime import ROOT
from local.aws.template_resources import load_template
from local.onec.model import INVOICE_SET
from local.onec.registers import CANCELLED
from local.seed import DEALS, PORTAL_MEMBER_ID
from local.stack import STATUS_SYNC_ID, LocalStack

FIRST_DEAL_ID = 20001
TOTAL = Decimal("1200.00")


def prepare(stack: LocalStack, count: int) -> list[str]:
    """`count` open documents (deals FIRST_DEAL_ID…), the accountant's work on them done; their Ref_Keys."""
    assert stack.resources is not None  # noqa: S101
    ledger = Ledger(stack.dynamodb, stack.resources.table_name)
    template_deal = next(deal for deal in DEALS if deal.id == 1001)
    stack.onec.seed_documents(INVOICE_SET, count, first=datetime(2026, 11, 1), last=datetime(2026, 12, 1))
    with stack.onec.editing() as sets:
        rows = sets[INVOICE_SET][-count:]
        for row in rows:
            row.update({"Posted": False, "СуммаДокумента": TOTAL})
        refs = [str(row["Ref_Key"]) for row in rows]
        numbers = [str(row["Number"]) for row in rows]
    for index, (ref, number) in enumerate(zip(refs, numbers, strict=True)):
        deal_id = FIRST_DEAL_ID + index
        stack.bitrix.set_deal(dataclasses.replace(template_deal, id=deal_id))
        key = f"{PORTAL_MEMBER_ID}#deal#{deal_id}"
        owner = str(uuid.uuid4())
        ledger.claim(key, owner=owner, content_hash="bench", lease_seconds=60)
        ledger.mark_created(key, owner=owner, ref_key=ref, number=number, total=str(TOTAL), vat_total="0")
    accountant = stack.onec.accountant
    for index, ref in enumerate(refs):
        accountant.post(ref)
        if index % 5 == 1:
            accountant.record_receipt(ref, Decimal("200.00"))
        if index % 7 == 2:
            accountant.record_receipt(ref, TOTAL)
        if index % 50 == 3:
            accountant.set_status(ref, CANCELLED)
    return refs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=500)
    args = parser.parse_args(argv)
    timeout = float(load_template(ROOT / "template.yaml")["Resources"][STATUS_SYNC_ID]["Properties"]["Timeout"])
    stack = LocalStack().start(poll=False)
    try:
        prepare(stack, args.documents)
        for run in ("first sweep", "second sweep"):
            stack.onec.reset_log()
            stack.bitrix.reset_log()
            started = time.perf_counter()
            report = stack.run_status_sync()
            seconds = time.perf_counter() - started
            print(
                f"{run}: {report['open_documents']} open documents, {report['told']} told, {report['closed']} closed; "
                f"1C requests {report['onec_requests']} (bound {report['onec_request_bound']}), "
                f"Bitrix24 requests {report['bitrix24_requests']} for {report['bitrix24_writes']} writes "
                f"(bound {report['bitrix24_request_bound']}); {seconds:.1f} s of the {timeout:.0f} s timeout"
            )
            if not report["within_bounds"] or report["skipped_portals"] or report["failed_portals"]:
                print("Out of bounds.")
                return 1
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
