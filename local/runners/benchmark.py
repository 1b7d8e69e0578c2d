"""`make bench`: a burst of won deals through the local stack, measuring the bridge rather than the stand-ins.

What makes it a measure of the bridge:
- the queue and the table are the lean local SQS and DynamoDB (local.aws.lean_server, faithful to moto's
  answers for the bridge's operations: tests/local/aws/test_lean_parity.py), each in a process of its own: they
  take none of the bridge's interpreter, and little of the cores (moto's DynamoDB spent some 45 ms of CPU per
  UpdateItem, more than the bridge per invoice); moto keeps only the secret;
- the processor runs as Lambda would: `MaximumConcurrency` execution environments, each a process of its own,
  with the template's batch size and batching window (local.aws.processor_workers); the receiver as a few
  environments behind API Gateway (local.aws.receiver_workers);
- the Bitrix24 sandbox lets 2 requests a second through after a burst of 50 and answers 503
  QUERY_LIMIT_EXCEEDED beyond (reference bitrix24.md §3.1): that is the bound no bridge can pass;
- the 1C sandbox answers each request after 80 ms and serves a few sessions at a time (503 beyond).

It prints its arithmetic, then ends with one line:
bench: <N> deals, <X> invoices/s, bound <Y>/s (<Z> %), bitrix24 <b>/invoice, 1c <c>/invoice,
p50 <t50> s, p99 <t99> s webhook→draft, bridge cpu <m> ms/invoice
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from invoice_bridge.ledger.deals import Ledger
from invoice_bridge.ledger.records import LedgerStatus
from local.aws.lambda_runtime import ROOT
from local.aws.lean_server import LeanAws
from local.aws.processor_workers import ProcessorWorkers, event_source_settings
from local.aws.receiver_workers import ReceiverWorkers
from local.aws.template_resources import load_template
from local.bitrix24.sandbox import Bitrix24Sandbox
from local.onec.sandbox import OnecSandbox
from local.seed import DEALS, PORTAL_MEMBER_ID
from local.stack import PROCESSOR_ID, WEBHOOK_PATH, LocalStack
from local.webhooks import FORM_HEADERS, webhook_body

FIRST_ID = 20001
DRAIN_PER_SECOND = 2.0  # Bitrix24's leaky bucket (reference bitrix24.md §3.1)
BURST = 50
ONEC_LATENCY_SECONDS = 0.08
ONEC_SESSIONS = 4  # a small 1C server's licences for this integration user
SENDERS = 8
RECEIVERS = 4  # receiver environments API Gateway keeps busy during the burst (each a process)


class DraftWatch:
    """When each deal's draft first appears in 1C: observed every 20 ms without copying the documents."""

    def __init__(self, onec: OnecSandbox) -> None:
        self._onec = onec
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._look()

    def _look(self) -> None:
        now = time.monotonic()

        def note(row: Mapping[str, Any]) -> bool:
            self.seen.setdefault(str(row.get("Комментарий", "")), now)
            return False  # nothing is copied

        self._onec.documents(where=note)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self._look()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))] if ordered else float("nan")


def run(deal_count: int) -> int:
    template_deal = next(deal for deal in DEALS if deal.id == 1001)
    template = load_template(ROOT / "template.yaml")
    source = event_source_settings(template, PROCESSOR_ID, default_concurrency=2)
    deal_ids = [FIRST_ID + index for index in range(deal_count)]
    deals = [dataclasses.replace(template_deal, id=deal_id, title=f"Burst deal {deal_id}") for deal_id in deal_ids]
    lean = LeanAws()  # the queue and the table; moto, in this process, keeps the secret
    lean.start()
    stack = LocalStack(
        bitrix=Bitrix24Sandbox(deals=(*DEALS, *deals), drain_per_second=DRAIN_PER_SECOND, burst=BURST),
        onec=OnecSandbox(latency_seconds=ONEC_LATENCY_SECONDS, max_sessions=ONEC_SESSIONS),
    )
    stack.start(poll=False)
    try:
        assert stack.resources is not None  # noqa: S101
        workers = ProcessorWorkers(stack.resources.queue_url, source)
        workers.start()
        receivers = ReceiverWorkers(RECEIVERS)
        receivers.start()
        watch = DraftWatch(stack.onec)
        watch.start()
        time.sleep(1.0)  # the bucket refills after the set-up's own requests
        stack.bitrix.reset_log()
        stack.onec.reset_log()
        sent: dict[int, float] = {}

        def send(deal_id: int) -> int:
            sent[deal_id] = time.monotonic()
            body = webhook_body(deal_id, ts=int(time.time()))
            url = receivers.urls[deal_id % RECEIVERS] + WEBHOOK_PATH
            return requests.post(url, data=body, headers=FORM_HEADERS, timeout=30).status_code

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=SENDERS) as pool:
            statuses = list(pool.map(send, deal_ids))
        sending = time.monotonic() - started
        drained = wait_for_drafts(watch, deal_count, timeout_seconds=max(600.0, deal_count * 1.0))
        watch.stop()
        figures = workers.stop()
        receiver_cpu = receivers.stop()
        aws_cpu = lean.cpu_seconds()
        ledger = Ledger(stack.dynamodb, stack.resources.table_name)
        # read in BatchGetItem calls of 100, so that the AWS calls printed are nearly all the bridge's own
        records = ledger.get_many(f"{PORTAL_MEMBER_ID}#deal#{deal_id}" for deal_id in deal_ids)
        created = sum(1 for record in records.values() if record.status is LedgerStatus.CREATED)
        drafts = len(stack.onec.documents(where=lambda row: "Burst deal" in str(row.get("Комментарий", ""))))
        bitrix_log = stack.bitrix.request_log
        onec_log = stack.onec.request_log
    finally:
        stack.stop()
        lean.stop()
    aws_calls = lean.calls()

    markers = {deal_id: f":deal:{deal_id}]" for deal_id in deal_ids}
    drawn = {deal_id: at for comment, at in watch.seen.items() for deal_id in _deal_of(comment, markers)}
    latencies = [drawn[deal_id] - sent[deal_id] for deal_id in deal_ids if deal_id in drawn]
    last = max(drawn.values(), default=started)
    elapsed = max(last - started, 1e-9)
    invoices = max(created, 1)
    throughput = created / elapsed
    bitrix_requests = len(bitrix_log)
    limited = sum(1 for entry in bitrix_log if entry.status == 503)
    accepted = bitrix_requests - limited
    per_invoice_accepted = accepted / invoices
    bound = DRAIN_PER_SECOND / per_invoice_accepted if accepted else float("inf")
    # over this run the burst lets a little more through: (accepted - burst) requests at the drain rate
    run_bound_text = (
        f"{created} / (({accepted} - {BURST}) / {DRAIN_PER_SECOND:g}) = "
        f"{created / ((accepted - BURST) / DRAIN_PER_SECOND):.2f}/s"
        if accepted > BURST
        else f"all {accepted} requests fit in the burst"
    )
    onec_requests = len(onec_log)
    onec_refused = sum(1 for entry in onec_log if entry.status == 503)
    onec_writes = sum(1 for entry in onec_log if entry.method in ("POST", "PATCH"))
    worker_cpu = sum(figure.get("cpu_seconds", 0.0) for figure in figures)
    invocations = sum(int(figure.get("invocations", 0)) for figure in figures)
    longest = max((figure.get("longest_invocation_seconds", 0.0) for figure in figures), default=0.0)
    cpu_ms = (worker_cpu + receiver_cpu) * 1000 / invoices
    p50, p99 = statistics.median(latencies) if latencies else float("nan"), percentile(latencies, 0.99)
    zeta = 100 * throughput / bound

    print(f"deals sent:        {deal_count} in {sending:.1f} s (webhook answers: {sorted(set(statuses))})")
    print(
        f"drafts in 1C:      {drafts} ({created} CREATED in the ledger), the last {elapsed:.1f} s after the first send"
    )
    print(
        f"event source:      batch {source.batch_size}, window {source.batching_window_seconds:g} s, "
        f"{source.maximum_concurrency} environments (processes), Timeout {source.function_timeout_seconds:g} s: "
        f"{invocations} invocations, longest {longest:.1f} s"
    )
    print(
        f"Bitrix24:          {bitrix_requests} requests, {limited} of them answered 503 QUERY_LIMIT_EXCEEDED "
        f"→ {bitrix_requests / invoices:.3f} per invoice sent, {per_invoice_accepted:.3f} per invoice let through"
    )
    print(
        f"bound:             the leaky bucket lets {DRAIN_PER_SECOND:g} requests/s through (burst {BURST}); at "
        f"{per_invoice_accepted:.3f} requests an invoice that is {DRAIN_PER_SECOND:g} / {per_invoice_accepted:.3f} "
        f"= {bound:.2f} invoices/s (over this run, with the burst: {run_bound_text})"
    )
    print(
        f"throughput:        {created} invoices / {elapsed:.1f} s = {throughput:.2f}/s = {zeta:.0f} % of {bound:.2f}/s"
    )
    print(
        f"1C:                {onec_requests} requests ({onec_writes} writes, {onec_refused} refused for sessions), "
        f"{ONEC_LATENCY_SECONDS * 1000:.0f} ms each, {ONEC_SESSIONS} sessions → {onec_requests / invoices:.3f} "
        "per invoice"
    )
    print(
        f"bridge CPU:        processor {worker_cpu:.1f} s + receiver {receiver_cpu:.1f} s = {cpu_ms:.1f} ms per invoice"
    )
    aws_text = ", ".join(f"lean {name} {seconds:.1f} s" for name, seconds in aws_cpu.items())
    print(f"stand-ins' CPU:     {aws_text} (each a process, on the same cores as the bridge)")
    calls_text = ", ".join(f"{name} {count / invoices:.2f}" for name, count in sorted(aws_calls.items()) if count)
    print(f"AWS calls:         per invoice (the bench's own set-up and read-back included): {calls_text}")
    ok = drained and created == deal_count and drafts == deal_count
    print("every deal has exactly one draft" if ok else "NOT every deal has exactly one draft")
    print(
        f"bench: {deal_count} deals, {throughput:.2f} invoices/s, bound {bound:.2f}/s ({zeta:.0f} %), "
        f"bitrix24 {bitrix_requests / invoices:.3f}/invoice, 1c {onec_requests / invoices:.3f}/invoice, "
        f"p50 {p50:.1f} s, p99 {p99:.1f} s webhook→draft, bridge cpu {cpu_ms:.1f} ms/invoice"
    )
    return 0 if ok else 1


def _deal_of(comment: str, markers: dict[int, str]) -> list[int]:
    start = comment.rfind(":deal:")
    if start < 0:
        return []
    try:
        deal_id = int(comment[start + len(":deal:") :].split("]", 1)[0])
    except ValueError:
        return []
    return [deal_id] if deal_id in markers else []


def wait_for_drafts(watch: DraftWatch, count: int, timeout_seconds: float) -> bool:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if sum(1 for comment in list(watch.seen) if "Burst deal" in comment) >= count:
            return True
        time.sleep(0.2)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=200, help="how many won deals to send (default 200)")
    return run(parser.parse_args(argv).deals)


if __name__ == "__main__":
    sys.exit(main())
