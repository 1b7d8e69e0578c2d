"""`make bench`: a burst of won deals through the local stack, and what each invoice cost on the wire.

Prints Bitrix24 and 1C requests per invoice, the 1C rows those requests examined (the sandbox models 1C's
indexes), the rate-limit answers the portal gave (503) and whether every deal still ended with one draft.
Figures, not assertions: compare them between versions.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from invoice_bridge.ledger import Ledger, LedgerStatus
from local.seed import DEALS, PORTAL_MEMBER_ID
from local.stack import LocalStack
from local.webhooks import FORM_HEADERS, webhook_body

FIRST_ID = 20001


def run(deal_count: int) -> int:
    template = next(deal for deal in DEALS if deal.id == 1001)
    with LocalStack() as stack:
        deal_ids = [FIRST_ID + index for index in range(deal_count)]
        for deal_id in deal_ids:
            stack.bitrix.set_deal(dataclasses.replace(template, id=deal_id, title=f"Burst deal {deal_id}"))
        stack.bitrix.reset_log()
        stack.onec.reset_log()
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(
                pool.map(
                    lambda deal_id: (
                        requests.post(
                            stack.webhook_url,
                            data=webhook_body(deal_id, ts=int(time.time())),
                            headers=FORM_HEADERS,
                            timeout=10,
                        ).status_code
                    ),
                    deal_ids,
                )
            )
        drained = stack.event_source.wait_until_drained(timeout_seconds=600)
        elapsed = time.monotonic() - started

        assert stack.resources is not None  # noqa: S101
        ledger = Ledger(stack.dynamodb, stack.resources.table_name)
        created = sum(
            1
            for deal_id in deal_ids
            if (record := ledger.get(f"{PORTAL_MEMBER_ID}#deal#{deal_id}")) and record.status is LedgerStatus.CREATED
        )
        drafts = len(stack.onec.documents())
        bitrix_log = stack.bitrix.request_log
        bitrix_requests = len(bitrix_log)
        rate_limited = sum(1 for entry in bitrix_log if entry.status == 503)
        onec_log = stack.onec.request_log
        onec_requests = len(onec_log)
        onec_rows = sum(entry.rows_examined for entry in onec_log)
        onec_writes = sum(1 for entry in onec_log if entry.method in ("POST", "PATCH"))
        document_sets = {"Document_СчетНаОплатуПокупателю", "Document_РеализацияТоваровУслуг"}
        look_ups = sum(1 for e in onec_log if e.method == "GET" and e.entity_set in document_sets and e.key is None)

    print(f"deals sent:              {deal_count} (webhook answers: {sorted(set(statuses))})")
    print(f"drafts created in 1C:    {drafts} ({created} CREATED in the ledger)")
    print(f"processor invocations:   {stack.event_source.invocations}")
    print(f"elapsed:                 {elapsed:.1f} s")
    print(f"Bitrix24 requests:       {bitrix_requests} → {bitrix_requests / max(created, 1):.3f} per invoice")
    print(f"  of them 503 (retried): {rate_limited}")
    print(f"1C requests:             {onec_requests} → {onec_requests / max(created, 1):.2f} per invoice")
    print(f"  of them writes:        {onec_writes}; document look-ups: {look_ups}")
    print(f"1C rows examined:        {onec_rows} → {onec_rows / max(created, 1):.2f} per invoice")
    ok = drained and created == deal_count and drafts == deal_count
    print("every deal has exactly one draft" if ok else "NOT every deal has exactly one draft")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deals", type=int, default=200, help="how many won deals to send (default 200)")
    return run(parser.parse_args(argv).deals)


if __name__ == "__main__":
    sys.exit(main())
