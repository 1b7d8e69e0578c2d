"""`make coldstart`: each function's cold start on this machine, N fresh interpreters each; prints the minimum and
the median of the wall time and of the CPU the interpreter used (on a machine shared with other load the minimum,
and the CPU, are the least disturbed; the load average is printed first).

- cold import: `import app` with `shared/` and the function's directory on the path, as Lambda's init does it;
- cold first request (the receiver): the same import, then the first webhook handled end to end — settings, the
  secret read from Secrets Manager, the event checked and queued in SQS — against moto's server on 127.0.0.1 in
  this process, so the measured interpreter imports nothing but the function (moto's answers count in its wall
  time, not in its CPU). A cut that only defers an import to the first request shows here as no cut.

`python -X importtime` shows where an import goes.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

from local.aws.lambda_runtime import ROOT, http_api_event
from local.seed import APPLICATION_TOKEN, PORTAL_DOMAIN, PORTAL_MEMBER_ID
from local.webhooks import FORM_HEADERS, webhook_body

FUNCTIONS = ("webhook_receiver", "invoice_processor", "reconciler", "status_sync")
REGION = "eu-central-1"
_MEASURE = """
import time
started, cpu = time.perf_counter(), time.process_time()
import app
print(time.perf_counter() - started, time.process_time() - cpu)
"""
# The event comes in a file: reading it before the clock starts takes nothing the function would not import.
_FIRST_REQUEST = """
import sys, time
class Context:
    function_name = "WebhookReceiverFunction"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:WebhookReceiverFunction"
    aws_request_id = "cold-first-request"
    def get_remaining_time_in_millis(self):
        return 10000
started, cpu = time.perf_counter(), time.process_time()
import app
imported, imported_cpu = time.perf_counter(), time.process_time()
import json
with open(sys.argv[1], encoding="utf-8") as source:
    reply = app.lambda_handler(json.load(source), Context())
done, done_cpu = time.perf_counter(), time.process_time()
print(json.dumps({"import": [imported - started, imported_cpu - cpu], "total": [done - started, done_cpu - cpu],
                  "status": reply["statusCode"], "answer": json.loads(reply["body"]).get("status")}))
"""


def function_environment(function: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "shared"), str(ROOT / "functions" / function)]),
        "POWERTOOLS_SERVICE_NAME": "coldstart",
    }


@dataclass(frozen=True)
class Sample:
    """One fresh interpreter's time, in ms: wall clock, and the CPU it used (less disturbed by other load)."""

    wall_ms: float
    cpu_ms: float


def cold_import(function: str) -> Sample:
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", _MEASURE],
        env=function_environment(function),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return _sample([float(value) for value in out.stdout.split()])


class ReceiverFirstRequest:
    """moto's server on 127.0.0.1 with the receiver's queue and secret (the `portals` form); each run is a fresh
    interpreter that imports the receiver and answers one webhook, which must come back 200, queued."""

    def __init__(self, event_file: str) -> None:
        import boto3
        import botocore.session
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request lines
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        aws = {
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
        }
        # the clients of this process read the same variables, from their own copy: the environment stays as it was
        local = botocore.session.get_session()
        local.set_credentials(aws["AWS_ACCESS_KEY_ID"], aws["AWS_SECRET_ACCESS_KEY"])
        session = boto3.session.Session(botocore_session=local, region_name=REGION)
        queue_url = session.client("sqs", endpoint_url=aws["AWS_ENDPOINT_URL"]).create_queue(QueueName="coldstart")[
            "QueueUrl"
        ]
        secret = {
            "portals": [
                {
                    "member_id": PORTAL_MEMBER_ID,
                    "domain": PORTAL_DOMAIN,
                    "webhook_url": "https://sandbox.bitrix24.test/rest/1/coldstart/",
                    "application_tokens": [APPLICATION_TOKEN],
                }
            ],
            "onec_odata_url": "https://1c.example.test/odata/standard.odata/",
            "onec_username": "coldstart",
            "onec_password": "coldstart-password",
        }
        session.client("secretsmanager", endpoint_url=aws["AWS_ENDPOINT_URL"]).create_secret(
            Name="coldstart", SecretString=json.dumps(secret)
        )
        self._environment = {
            **function_environment("webhook_receiver"),
            **aws,
            "POWERTOOLS_METRICS_NAMESPACE": "InvoiceBridge",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "BRIDGE_SECRET_ID": "coldstart",
            "QUEUE_URL": queue_url,
            "LEDGER_TABLE_NAME": "coldstart-ledger",  # the `portals` form reads no pin
        }
        self._event_file = event_file
        event = http_api_event("POST", "/bitrix24/events", "", FORM_HEADERS, webhook_body(42))
        with open(event_file, "w", encoding="utf-8") as target:
            json.dump(event, target)

    def run(self) -> tuple[Sample, Sample]:
        """(cold import, cold import + first request) of one fresh interpreter."""
        out = subprocess.run(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-c", _FIRST_REQUEST, self._event_file],
            env=self._environment,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        if (result["status"], result["answer"]) != (200, "queued"):
            raise RuntimeError(f"the first webhook was answered {result['status']} {result['answer']}: {out.stdout}")
        return _sample(result["import"]), _sample(result["total"])

    def stop(self) -> None:
        self._server.stop()


def _sample(seconds: list[float]) -> Sample:
    wall, cpu = seconds
    return Sample(wall * 1000, cpu * 1000)


def summary(samples: list[Sample]) -> str:
    walls, cpus = [sample.wall_ms for sample in samples], [sample.cpu_ms for sample in samples]
    return (
        f"min {min(walls):4.0f} ms, median {statistics.median(walls):4.0f} ms "
        f"(cpu min {min(cpus):4.0f} ms, median {statistics.median(cpus):4.0f} ms)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-first-request", action="store_true", help="only the cold imports")
    arguments = parser.parse_args(argv)
    runs = arguments.runs
    print(f"load average {' '.join(f'{load:.2f}' for load in os.getloadavg())} on {os.cpu_count()} cores", flush=True)
    for function in FUNCTIONS:
        if (ROOT / "functions" / function / "app.py").exists():
            samples = [cold_import(function) for _ in range(runs)]
            print(f"{function:18} cold import:        {summary(samples)}, {runs} runs", flush=True)
    if arguments.no_first_request:
        return 0
    with tempfile.TemporaryDirectory() as directory:
        receiver = ReceiverFirstRequest(os.path.join(directory, "event.json"))
        try:
            both = [receiver.run() for _ in range(runs)]
        finally:
            receiver.stop()
    print(f"{'webhook_receiver':18} cold first request: {summary([total for _, total in both])}, {runs} runs")
    print(f"{'':18}   of it the import: {summary([imported for imported, _ in both])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
