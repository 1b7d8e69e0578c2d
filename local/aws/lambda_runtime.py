"""Running the real handlers the way Lambda does: an API Gateway HTTP API in front of the receiver, and an
SQS event source mapping (batches, partial batch failures, redelivery) in front of the processor."""

from __future__ import annotations

import base64
import importlib.util
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from invoice_bridge.observability import metrics
from local.serving import InBackground

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

ROOT = Path(__file__).resolve().parents[2]
Handler = Callable[[dict[str, Any], Any], Any]


def load_handler(function_dir: str) -> Handler:
    """Imports functions/<dir>/app.py under a unique module name (every function's file is called app.py).
    The handler is wrapped to drop the metrics of each invocation: locally metrics are disabled, and
    Powertools then keeps them (and prints them anyway once 100 values pile up)."""
    path = ROOT / "functions" / function_dir / "app.py"
    spec = importlib.util.spec_from_file_location(f"{function_dir}_app", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Handler = module.lambda_handler

    def invoke(event: dict[str, Any], context: Any) -> Any:
        try:
            return handler(event, context)
        finally:
            metrics.clear_metrics()

    return invoke


class LambdaCrash(BaseException):
    """The execution environment died mid-invocation (a timeout, out of memory, a killed process): Lambda gets no
    answer, every message of the batch comes back after the queue's visibility timeout, and the next
    invocation starts cold. A BaseException, so that no `except Exception` in the handler stops it."""


@dataclass
class LambdaContext:
    function_name: str
    timeout_seconds: float
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = self.clock() + self.timeout_seconds

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:eu-central-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self.clock()) * 1000))


def http_api_event(method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event, as the receiver gets it when deployed."""
    now = datetime.now(UTC)
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {name.lower(): value for name, value in headers.items()},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("User-Agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "body": base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": True,
    }


class HttpApiGateway:
    """A local HTTP endpoint that turns each request into an HTTP API event for the receiver."""

    MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's own limit

    def __init__(self, handler: Handler, *, host: str = "127.0.0.1", port: int = 0) -> None:
        gateway = self

        class _RequestHandler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                gateway._forward(self, "POST")

            def do_GET(self) -> None:
                gateway._forward(self, "GET")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._handler = handler
        # One execution environment: Lambda never runs two invocations in one process at once.
        self._invocation = threading.Lock()
        self.cpu_seconds = 0.0  # the receiver's CPU time over all invocations (make bench)
        self._served = InBackground(ThreadingHTTPServer((host, port), _RequestHandler), name="local-http-api")

    @property
    def url(self) -> str:
        return self._served.url

    def start(self) -> None:
        self._served.start()

    def stop(self) -> None:
        self._served.stop()

    def _forward(self, request: BaseHTTPRequestHandler, method: str) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        if length > self.MAX_PAYLOAD_BYTES:
            request.send_error(413, "Request Entity Too Large")
            return
        body = request.rfile.read(length) if length else b""
        path, _, query = request.path.partition("?")
        event = http_api_event(method, path, query, dict(request.headers.items()), body)
        with self._invocation:
            cpu = time.thread_time()
            reply = self._handler(event, LambdaContext("WebhookReceiverFunction", timeout_seconds=10))
            self.cpu_seconds += time.thread_time() - cpu
        payload = reply.get("body") or ""
        raw = base64.b64decode(payload) if reply.get("isBase64Encoded") else str(payload).encode()
        request.send_response(int(reply.get("statusCode", 200)))
        for name, value in (reply.get("headers") or {}).items():
            request.send_header(name, str(value))
        request.send_header("Content-Length", str(len(raw)))
        request.end_headers()
        try:
            request.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            return  # the caller went away (make run stopped mid-replay): as API Gateway, nobody to answer


def sqs_event(messages: list[MessageTypeDef], queue_arn: str, region: str) -> dict[str, Any]:
    records = []
    for message in messages:
        attributes = {
            name: {"stringValue": value.get("StringValue"), "dataType": value.get("DataType", "String")}
            for name, value in (message.get("MessageAttributes") or {}).items()
        }
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes") or {},
                "messageAttributes": attributes,
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


class SqsEventSource:
    """Polls the queue and invokes the processor with batches, like Lambda's SQS event source mapping:
    successes are deleted; reported failures come back when the processor's backoff (or else the queue's
    visibility timeout) says; an invocation that fails or crashes leaves every message of its batch to come
    back after the queue's visibility timeout; SQS (moto) moves a message to the DLQ on the receive after
    maxReceiveCount. `clock` times the invocations (`timeout_seconds` and `longest_invocation_seconds` are on
    it): the soak runs it scaled."""

    def __init__(
        self,
        sqs: SQSClient,
        queue_url: str,
        handler: Handler,
        *,
        batch_size: int,
        function_timeout_seconds: float,
        batching_window_seconds: float = 0.0,
        on_crash: Callable[[], None] | None = None,
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._handler = handler
        self._batch_size = batch_size
        self._batching_window = batching_window_seconds
        self._timeout = function_timeout_seconds
        self._on_crash = on_crash
        self.clock: Callable[[], float] = time.monotonic
        self.long_poll_seconds = 1  # 0: short polls, a real 50 ms apart (moto's long poll sleeps in real time)
        self.between_polls: Callable[[], None] | None = None  # e.g. a scheduled function sharing this process
        self._queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self._stop = threading.Event()
        self._busy = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.invocations = 0
        self.crashes = 0
        self.overruns = 0  # invocations that ran past the function's Timeout on `clock`
        self.longest_invocation_seconds = 0.0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def poll_once(self, wait_seconds: int = 0) -> int:
        """One batch: receives up to `batch_size` messages within the batching window, like the event source
        mapping does, invokes the processor once; returns how many messages it handed over."""
        messages: list[MessageTypeDef] = []
        window_ends = time.monotonic() + self._batching_window
        while len(messages) < self._batch_size:
            received = self._sqs.receive_message(
                QueueUrl=self._queue_url,
                MaxNumberOfMessages=min(10, self._batch_size - len(messages)),  # SQS hands out 10 at most
                WaitTimeSeconds=wait_seconds if not messages else 0,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
            ).get("Messages", [])
            messages.extend(received)
            if not received and (not messages or time.monotonic() >= window_ends):
                break
            if not received:  # within the window: look again shortly, not in a tight loop against the queue
                time.sleep(min(0.05, max(0.0, window_ends - time.monotonic())))
        if not messages:
            return 0
        self._busy.set()
        try:
            self._invoke(messages)
        finally:
            self._busy.clear()
        return len(messages)

    def wait_until_drained(self, timeout_seconds: float = 60) -> bool:
        """True once the queue has nothing visible, in flight or delayed and no batch is being processed."""
        deadline = time.monotonic() + timeout_seconds
        quiet_rounds = 0
        while time.monotonic() < deadline:
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=self._queue_url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            pending = sum(int(value) for value in attributes.values())
            quiet_rounds = quiet_rounds + 1 if pending == 0 and not self._busy.is_set() else 0
            if quiet_rounds >= 2:
                return True
            time.sleep(0.2)
        return False

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.between_polls is not None:
                self.between_polls()
            if self.poll_once(wait_seconds=self.long_poll_seconds) == 0 and self.long_poll_seconds == 0:
                self._stop.wait(0.05)

    def _invoke(self, messages: list[MessageTypeDef]) -> None:
        self.invocations += 1
        event = sqs_event(messages, self._queue_arn, self._sqs.meta.region_name)
        started = self.clock()
        try:
            response = self._handler(event, LambdaContext("InvoiceProcessorFunction", self._timeout, clock=self.clock))
            failed = {item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])}
        except Exception:  # a function error: no message is deleted
            failed = {message["MessageId"] for message in messages}
        except LambdaCrash:
            self.crashes += 1
            if self._on_crash is not None:
                self._on_crash()  # the next invocation runs in a new execution environment
            failed = {message["MessageId"] for message in messages}
        finally:
            took = self.clock() - started
            self.longest_invocation_seconds = max(self.longest_invocation_seconds, took)
            self.overruns += took > self._timeout
        done = [message for message in messages if message["MessageId"] not in failed]
        for first in range(0, len(done), 10):  # as the event source mapping does: DeleteMessageBatch, 10 a call
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(done[first : first + 10])
                ],
            )
        # The failed ones stay in flight: a reported failure comes back when the processor's backoff says, the
        # rest of a failed or crashed invocation when the visibility timeout of their receive runs out.
