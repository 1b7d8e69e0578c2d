"""`make soak`: many won deals through the whole local stack, on the template's own retry settings, while faults
are injected from a seed (local.runners.soak_faults): random Bitrix24 and 1C faults at a fixed rate per request, one
Bitrix24 outage and one 1C outage of an hour each, crashes between the 1C create and the ledger write, and 20 %
duplicate webhook deliveries. Then every deal is accounted for, and the last line sums it up:

    soak: <N> deals, created <C>, rejected <R>, dead-lettered <D>, duplicated <P>, lost <L>, faults <F>, seed <S>

lost = neither created, rejected nor dead-lettered; duplicated = more than one 1C document. The exit status is 0
only when D = P = L = 0, C + R = N and the DLQ holds no other message either.

Time runs on one scaled clock (local.scaled_clock) for the bridge (leases, backoff deadlines, breakers), SQS
in moto (visibility, delays, hence receive counts), the outage windows, the reconciler's schedule and the
processor's deadline, so the template's lease, backoff steps, maxReceiveCount, visibility timeout and the
outages keep their ratios. The settings come from template.yaml (literal environment values of the processor,
else the settings model's defaults), not from the local stack's shortened ones.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import random
import re
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import requests

from invoice_bridge.config import ProcessorSettings, processor_settings
from invoice_bridge.events import EntityType, QueueMessage, external_key
from invoice_bridge.ledger.deals import Ledger
from invoice_bridge.ledger.records import DOCUMENT_STATES, LedgerRecord, LedgerStatus
from invoice_bridge.onec.document_keys import key_marker
from invoice_bridge.retry import survivable_outage_seconds
from local.aws.lambda_runtime import ROOT
from local.aws.scaled_clock import ScaledClock, scaled_time
from local.aws.template_resources import load_template
from local.bitrix24.sandbox import Bitrix24Sandbox
from local.runners.soak_faults import FaultPlan, crashes_before_ledger_write
from local.seed import DEALS, PORTAL_MEMBER_ID
from local.stack import PROCESSOR_ID, RECONCILER_ID, LocalStack
from local.webhooks import FORM_HEADERS, webhook_body

FIRST_ID = 50001
DEFAULT_SEED = 7
# One factor for all time. A batch of 36 deals takes about 2 real seconds here (up to 4 on a busy machine with
# retries inside it): 40-80 s at factor 20, inside the processor's 120 s Timeout and the 180 s lease (a lease
# only spans one deal's 1C call, well under a real second), and far inside the 720 s visibility timeout. An
# hour of outage then passes in 3 real minutes. The soak prints the longest invocation on the scaled clock.
DEFAULT_TIME_FACTOR = 20.0
DEFAULT_OUTAGE_SECONDS = 3600  # each outage; the old design's whole backoff window was 150 s
DEFAULT_FAULT_RATE = 0.05  # per HTTP request, each side
DEFAULT_CRASH_RATE = 0.01  # per ledger write after a 1C answer
TIMING_FIELDS = (
    "lease_seconds",
    "retry_backoff_seconds",
    "retry_backoff_max_seconds",
    "breaker_failure_threshold",
    "breaker_open_seconds",
)
FATES = ("created", "rejected", "dead-lettered", "lost")


@dataclass(frozen=True)
class Timings:
    """The template's settings that time retries, as the soak runs them (in scaled seconds)."""

    processor_timeout: float
    visibility_timeout: int
    max_receive_count: int
    reconcile_every: float
    settings: dict[str, int]

    @property
    def survivable_seconds(self) -> int:
        """The shortest life of a failing message before the DLQ, by the template's arithmetic (retry.py)."""
        return survivable_outage_seconds(
            self.settings["retry_backoff_seconds"], self.settings["retry_backoff_max_seconds"], self.max_receive_count
        )

    def render(self) -> str:
        settings = ", ".join(f"{name} {value}" for name, value in self.settings.items())
        return (
            f"template: {settings}; maxReceiveCount {self.max_receive_count}, VisibilityTimeout "
            f"{self.visibility_timeout} s, processor Timeout {self.processor_timeout:.0f} s, reconciler every "
            f"{self.reconcile_every:.0f} s; a failing message lives >= {self.survivable_seconds} s before the DLQ"
        )


@dataclass(frozen=True)
class DealFate:
    deal_id: int
    fate: str
    documents: int
    status: str
    attempts: int
    detail: str


@dataclass(frozen=True)
class SoakReport:
    seed: int
    fates: list[DealFate]
    dlq_causes: Counter[str]
    other_dead_letters: Counter[str]  # DLQ messages of deals that ended created or rejected, or write-backs
    faults: Counter[str]
    notes: list[str]
    fates_path: Path | None = None

    @property
    def deals(self) -> int:
        return len(self.fates)

    def count(self, fate: str) -> int:
        return sum(1 for f in self.fates if f.fate == fate)

    @property
    def created(self) -> int:
        return self.count("created")

    @property
    def rejected(self) -> int:
        return self.count("rejected")

    @property
    def dead_lettered(self) -> int:
        return self.count("dead-lettered")

    @property
    def lost(self) -> int:
        return self.count("lost")

    @property
    def duplicated(self) -> int:
        return sum(1 for f in self.fates if f.documents > 1)

    @property
    def ok(self) -> bool:
        return (
            self.dead_lettered == 0
            and self.duplicated == 0
            and self.lost == 0
            and self.created + self.rejected == self.deals
            and not self.other_dead_letters
        )

    def summary_line(self) -> str:
        return (
            f"soak: {self.deals} deals, created {self.created}, rejected {self.rejected}, dead-lettered "
            f"{self.dead_lettered}, duplicated {self.duplicated}, lost {self.lost}, faults "
            f"{sum(self.faults.values())}, seed {self.seed}"
        )

    def render(self) -> str:
        lines = list(self.notes)
        lines.append(
            "faults injected: " + (", ".join(f"{kind} {n}" for kind, n in self.faults.most_common()) or "none")
        )
        where = f" (one line per deal: {self.fates_path})" if self.fates_path else ""
        lines.append(f"fates{where}:")
        for fate in FATES:
            ids = [f.deal_id for f in self.fates if f.fate == fate]
            listed = f"  {_id_list(ids)}" if ids and fate in ("dead-lettered", "lost") else ""
            lines.append(f"  {fate:<14}{len(ids):>6}{listed}")
        duplicated = [f.deal_id for f in self.fates if f.documents > 1]
        lines.append(f"  {'duplicated':<14}{len(duplicated):>6}{'  ' + _id_list(duplicated) if duplicated else ''}")
        if not self.dlq_causes and not self.other_dead_letters:
            lines.append("DLQ causes: none, the DLQ is empty")
        else:
            lines.append("DLQ causes (the last error the ledger recorded, per dead-lettered deal):")
            lines.extend(f"  {n:>5}  {cause}" for cause, n in self.dlq_causes.most_common())
            lines.extend(f"  {n:>5}  also in the DLQ: {kind}" for kind, n in self.other_dead_letters.most_common())
        lines.append(self.summary_line())
        return "\n".join(lines)


def template_timing_environment(template: Mapping[str, Any]) -> dict[str, str]:
    """The environment the processor gets on AWS for the settings that time retries: the template's literal
    values, else the settings model's defaults (the local stack shortens some; the soak must not)."""
    variables = template["Resources"][PROCESSOR_ID]["Properties"].get("Environment", {}).get("Variables", {})
    environment: dict[str, str] = {}
    for name in TIMING_FIELDS:
        value = variables.get(name.upper(), ProcessorSettings.model_fields[name].default)
        if isinstance(value, dict):
            raise ValueError(f"{name.upper()} in template.yaml is not a literal; the soak cannot scale it")
        environment[name.upper()] = str(value)
    return environment


def run_soak(
    deal_count: int,
    *,
    seed: int = DEFAULT_SEED,
    duplicate_share: float = 0.2,
    fault_rate: float = DEFAULT_FAULT_RATE,
    crash_rate: float = DEFAULT_CRASH_RATE,
    outage_seconds: float = DEFAULT_OUTAGE_SECONDS,
    time_factor: float = DEFAULT_TIME_FACTOR,
    max_real_seconds: float = 1500,
    fates_path: Path | None = None,
    progress: TextIO | None = None,
) -> SoakReport:
    template = load_template(ROOT / "template.yaml")
    scaled = ScaledClock(time_factor)
    stack = LocalStack(
        log_level="CRITICAL",
        extra_environment=template_timing_environment(template),
        # the deals' DATE_MODIFY on the clock the reconciler's checkpoint is kept on
        bitrix=Bitrix24Sandbox(clock=scaled.now),
    )
    stack.start(poll=False)
    real_started = time.monotonic()
    try:
        timings = _timings(stack, template)
        deal_ids = _seed_deals(stack, deal_count, seed)
        plan = FaultPlan(
            seed=seed,
            clock=scaled,
            deals=deal_count,
            fault_rate=fault_rate,
            crash_rate=crash_rate,
            outage_seconds=outage_seconds,
        )
        stack.bitrix.set_fault_hook(plan.bitrix)
        stack.onec.set_fault_hook(plan.onec)
        source = stack.event_source
        with scaled_time(scaled), crashes_before_ledger_write(plan):
            source.clock = scaled.now
            source.long_poll_seconds = 0  # moto's long poll waits in real seconds; poll often instead
            source.between_polls = _reconciler_schedule(stack, scaled, timings.reconcile_every)
            source.start()
            deliveries = _deliver_webhooks(stack, deal_ids, duplicate_share, seed)
            drained = _drain(stack, scaled, real_started + max_real_seconds, progress)
            source.stop()
            scaled_seconds = scaled.elapsed()
            # still on the scaled clock: a dead letter keeps the visibility its last receive gave it
            fates, causes, others = _account(stack, deal_ids)
        stack.bitrix.set_fault_hook(None)
        stack.onec.set_fault_hook(None)
        notes = [
            timings.render(),
            f"clock: x{time_factor:g}; {deliveries} webhook deliveries for {deal_count} deals; fault rate "
            f"{fault_rate:.0%} per request, crash rate {crash_rate:.0%} per ledger write after 1C",
            _outages(plan, scaled, timings),
            f"ran {time.monotonic() - real_started:.0f} s real = {scaled_seconds / 3600:.1f} h scaled; "
            f"{source.invocations} processor invocations, {source.crashes} crashed, longest "
            f"{source.longest_invocation_seconds:.0f} s scaled"
            + (f", {source.overruns} past the {timings.processor_timeout:.0f} s Timeout" if source.overruns else ""),
        ]
        if not drained:
            notes.append(f"the queue did not drain within {max_real_seconds:.0f} real seconds; counted as it stood")
    finally:
        stack.stop()
    report = SoakReport(seed, fates, causes, others, plan.counts, notes, fates_path)
    if fates_path is not None:
        _write_fates(fates_path, fates)
    return report


def _drain(stack: LocalStack, scaled: ScaledClock, real_deadline: float, progress: TextIO | None) -> bool:
    """Waits until the queue is empty and idle; says how it goes every 30 real seconds."""
    while (left := real_deadline - time.monotonic()) > 0:
        if stack.event_source.wait_until_drained(timeout_seconds=min(30.0, left)):
            return True
        if progress is not None:
            print(
                f"soak: {scaled.elapsed() / 3600:.1f} h scaled, {stack.queued_messages()} messages queued, "
                f"{len(stack.onec.documents())} 1C documents",
                file=progress,
                flush=True,
            )
    return False


def _timings(stack: LocalStack, template: Mapping[str, Any]) -> Timings:
    assert stack.resources is not None  # noqa: S101
    attributes = stack.sqs.get_queue_attributes(
        QueueUrl=stack.resources.queue_url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"]
    )["Attributes"]
    redrive = re.search(r'"maxReceiveCount"\s*:\s*"?(\d+)', attributes["RedrivePolicy"])
    assert redrive is not None  # noqa: S101 - the template sets a redrive policy
    settings = processor_settings()
    resources = template["Resources"]
    schedule = next(e["Properties"]["Schedule"] for e in resources[RECONCILER_ID]["Properties"]["Events"].values())
    if isinstance(schedule, dict) and "Ref" in schedule:
        schedule = template["Parameters"][schedule["Ref"]]["Default"]
    return Timings(
        processor_timeout=float(resources[PROCESSOR_ID]["Properties"].get("Timeout", 3)),
        visibility_timeout=int(attributes["VisibilityTimeout"]),
        max_receive_count=int(redrive[1]),
        reconcile_every=_rate_seconds(str(schedule)),
        settings={name: int(getattr(settings, name)) for name in TIMING_FIELDS},
    )


def _rate_seconds(expression: str) -> float:
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression.strip())
    if match is None:
        raise ValueError(f"the soak runs the reconciler on a rate() schedule, not {expression!r}")
    unit = {"minute": 60, "hour": 3600, "day": 86400}[match[2].rstrip("s")]
    return int(match[1]) * unit


def _seed_deals(stack: LocalStack, deal_count: int, seed: int) -> list[int]:
    """Won deals with the seed's deal 1001 (valid) or, one in twenty, 1005 (rejected: no buyer requisite)."""
    chance = random.Random(seed)  # noqa: S311 - test data, not cryptography
    valid = next(deal for deal in DEALS if deal.id == 1001)
    broken = next(deal for deal in DEALS if deal.id == 1005)
    deal_ids = [FIRST_ID + index for index in range(deal_count)]
    for deal_id in deal_ids:
        template = broken if chance.random() < 0.05 else valid
        stack.bitrix.set_deal(dataclasses.replace(template, id=deal_id, title=f"Soak {deal_id}"))
    return deal_ids


def _deliver_webhooks(stack: LocalStack, deal_ids: list[int], duplicate_share: float, seed: int) -> int:
    chance = random.Random(seed + 1)  # noqa: S311 - test data, not cryptography
    deliveries = deal_ids + chance.sample(deal_ids, int(len(deal_ids) * duplicate_share))
    chance.shuffle(deliveries)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(
                lambda deal_id: requests.post(
                    stack.webhook_url, data=webhook_body(deal_id), headers=FORM_HEADERS, timeout=30
                ),
                deliveries,
            )
        )
    return len(deliveries)


def _reconciler_schedule(stack: LocalStack, scaled: ScaledClock, every: float) -> Callable[[], None]:
    """The reconciler on its EventBridge schedule, run between processor invocations (one process: the
    handlers share Powertools' global logger and metrics, which are not made for two threads)."""
    due = [scaled.now() + every]

    def run_when_due() -> None:
        if scaled.now() < due[0]:
            return
        due[0] = scaled.now() + every
        # a failed run (Bitrix24 down) is made good by the next one, as on AWS
        with contextlib.suppress(Exception):
            stack.run_reconciler()

    return run_when_due


def _outages(plan: FaultPlan, scaled: ScaledClock, timings: Timings) -> str:
    parts = []
    for outage in (plan.bitrix_outage, plan.onec_outage):
        if outage.starts_at is None:
            parts.append(f"{outage.name} outage never started")
            continue
        start = outage.starts_at - (scaled.now() - scaled.elapsed())
        parts.append(f"{outage.name} down {start / 60:.0f}-{(start + outage.seconds) / 60:.0f} min")
    longest = max(plan.bitrix_outage.seconds, plan.onec_outage.seconds)
    verdict = (
        "within what the template survives"
        if longest <= timings.survivable_seconds
        else f"LONGER than the {timings.survivable_seconds} s the template's retries survive"
    )
    return "outages (scaled): " + ", ".join(parts) + f"; {longest:.0f} s each, {verdict}"


def _account(stack: LocalStack, deal_ids: list[int]) -> tuple[list[DealFate], Counter[str], Counter[str]]:
    assert stack.resources is not None  # noqa: S101
    keys = {deal_id: f"{PORTAL_MEMBER_ID}#deal#{deal_id}" for deal_id in deal_ids}
    records = Ledger(stack.dynamodb, stack.resources.table_name).get_many(keys.values())
    dead = _dead_letters(stack)
    comments = [str(doc.get("Комментарий", "")) for doc in stack.onec.documents()]
    markers = Counter(match for comment in comments for match in re.findall(r"\[b24:[^\]]+\]", comment))
    fates: list[DealFate] = []
    causes = Counter[str]()
    others = Counter[str]()
    for deal_id, key in keys.items():
        record = records.get(key)
        documents = markers[key_marker(external_key(PORTAL_MEMBER_ID, EntityType.DEAL, deal_id))]
        fate, detail = _fate(record, documents, key in dead.deals)
        if fate == "dead-lettered":
            causes[_normalise(record.last_error if record and record.last_error else "")] += 1
        elif key in dead.deals:
            others[f"a message of a deal {fate} in the end"] += 1
        fates.append(
            DealFate(
                deal_id,
                fate,
                documents,
                record.status.value if record else "-",
                record.attempts if record else 0,
                detail,
            )
        )
    for kind, count in dead.other.items():
        others[kind] += count
    return fates, causes, others


def _fate(record: LedgerRecord | None, documents: int, dead_lettered: bool) -> tuple[str, str]:
    if record is not None and record.status in DOCUMENT_STATES and documents > 0:
        return "created", f"1C {record.onec_number}"
    if record is not None and record.status is LedgerStatus.REJECTED:
        return "rejected", "; ".join(record.reasons)
    if dead_lettered:
        return "dead-lettered", record.last_error if record else "no ledger entry"
    if record is None:
        return "lost", "no ledger entry, not in the DLQ"
    return "lost", f"ledger {record.status.value}, {documents} 1C documents, not in the DLQ; {record.last_error}"


def _normalise(error: str) -> str:
    """Groups causes that differ only in numbers (deal ids, receive counts)."""
    if not error:
        return "(no error in the ledger: it failed before its ledger claim, e.g. reading Bitrix24)"
    return re.sub(r"\d{4,}", "N", error)[:160]


@dataclass
class _DeadLetters:
    deals: set[str]
    other: Counter[str]


def _dead_letters(stack: LocalStack) -> _DeadLetters:
    assert stack.resources is not None  # noqa: S101
    found = _DeadLetters(set(), Counter())
    while messages := stack.sqs.receive_message(
        QueueUrl=stack.resources.dead_letter_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
    ).get("Messages", []):
        for message in messages:
            body = QueueMessage.model_validate_json(message["Body"])
            if body.write_back is not None:
                found.other[f"a {body.write_back.method} write-back"] += 1
            else:
                found.deals.add(body.ledger_key)
            stack.sqs.delete_message(
                QueueUrl=stack.resources.dead_letter_queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
    return found


def _id_list(ids: Iterable[int], limit: int = 20) -> str:
    listed = sorted(ids)
    shown = " ".join(str(i) for i in listed[:limit])
    return shown + (f" … (+{len(listed) - limit})" if len(listed) > limit else "")


def _write_fates(path: Path, fates: list[DealFate]) -> None:
    rows = ["deal\tfate\tdocuments\tledger\tattempts\tdetail"]
    rows.extend(
        f"{f.deal_id}\t{f.fate}\t{f.documents}\t{f.status}\t{f.attempts}\t{f.detail.replace(chr(9), ' ')}"
        for f in fates
    )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--time-factor", type=float, default=DEFAULT_TIME_FACTOR)
    parser.add_argument("--outage-minutes", type=float, default=DEFAULT_OUTAGE_SECONDS / 60)
    parser.add_argument("--fates", type=Path, default=None, help="where to write each deal's fate (a TSV file)")
    args = parser.parse_args(argv)
    # Powertools warns once per process that a handler published no metrics; they are disabled locally.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    fates_path = args.fates or Path(tempfile.gettempdir()) / f"invoice-bridge-soak-seed{args.seed}.tsv"
    report = run_soak(
        args.deals,
        seed=args.seed,
        time_factor=args.time_factor,
        outage_seconds=args.outage_minutes * 60,
        fates_path=fates_path,
        progress=sys.stderr,
    )
    print(report.render())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
