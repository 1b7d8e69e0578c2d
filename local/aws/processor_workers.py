"""The processor as Lambda runs it under load, for `make bench`: up to the event source's maximum concurrency of
execution environments, each a process of its own (its own warm state, its own interpreter) polling the queue
with the template's batch size and batching window.

`python -m local.aws.processor_workers QUEUE_URL BATCH_SIZE WINDOW_SECONDS TIMEOUT_SECONDS` is one environment: it
polls until its standard input closes, then prints its figures as one JSON line.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass
from typing import Any

import boto3

from local.aws.child_process import ChildProcess


@dataclass(frozen=True)
class EventSourceSettings:
    batch_size: int
    batching_window_seconds: float
    maximum_concurrency: int
    function_timeout_seconds: float


def event_source_settings(template: dict[str, Any], function_id: str, default_concurrency: int) -> EventSourceSettings:
    """The SQS event source of `function_id` as template.yaml declares it (MaximumConcurrency is a parameter:
    its default)."""
    function = template["Resources"][function_id]["Properties"]
    trigger = next(e["Properties"] for e in function["Events"].values() if e["Type"] == "SQS")
    concurrency = trigger.get("ScalingConfig", {}).get("MaximumConcurrency", default_concurrency)
    if isinstance(concurrency, dict):  # !Ref to a parameter
        concurrency = template["Parameters"][concurrency["Ref"]]["Default"]
    return EventSourceSettings(
        batch_size=int(trigger["BatchSize"]),
        batching_window_seconds=float(trigger.get("MaximumBatchingWindowInSeconds", 0)),
        maximum_concurrency=int(concurrency),
        function_timeout_seconds=float(function.get("Timeout", 60)),
    )


class ProcessorWorkers:
    """`settings.maximum_concurrency` environments; the caller's environment variables (the local stack's) are
    theirs."""

    def __init__(self, queue_url: str, settings: EventSourceSettings) -> None:
        self._queue_url = queue_url
        self._settings = settings
        self._processes: list[ChildProcess] = []

    def start(self) -> None:
        arguments = (
            self._queue_url,
            str(self._settings.batch_size),
            str(self._settings.batching_window_seconds),
            str(self._settings.function_timeout_seconds),
        )
        for _ in range(self._settings.maximum_concurrency):
            process = ChildProcess("local.aws.processor_workers", *arguments, ready="polling")  # it says when it polls
            process.start()
            self._processes.append(process)

    def stop(self) -> list[dict[str, float]]:
        """Stops every environment (each finishes the batch in hand); their figures (invocations, cpu_seconds,
        longest_invocation_seconds)."""
        for process in self._processes:
            process.close_input()
        for process in self._processes:
            process.stop(timeout=180)
        figures = [json.loads(process.final_line) if process.final_line else {} for process in self._processes]
        self._processes = []
        return figures


def main(argv: list[str]) -> None:
    from local.aws.lambda_runtime import SqsEventSource, load_handler

    logging.getLogger("botocore").setLevel(logging.WARNING)
    queue_url, batch_size, window, timeout = argv
    source = SqsEventSource(
        boto3.client("sqs"),
        queue_url,
        load_handler("invoice_processor"),
        batch_size=int(batch_size),
        batching_window_seconds=float(window),
        function_timeout_seconds=float(timeout),
    )
    cpu = time.process_time()  # after the cold imports: what the invocations cost
    source.start()
    print("polling", flush=True)
    sys.stdin.read()
    source.stop()
    print(
        json.dumps(
            {
                "invocations": source.invocations,
                "cpu_seconds": time.process_time() - cpu,
                "longest_invocation_seconds": source.longest_invocation_seconds,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
