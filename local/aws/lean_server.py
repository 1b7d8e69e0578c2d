"""The lean local DynamoDB and SQS (local.aws.lean_dynamodb, local.aws.lean_sqs) behind one small HTTP endpoint on
127.0.0.1, speaking the services' JSON protocols (`X-Amz-Target: DynamoDB_20120810.<Operation>` and
`AmazonSQS.<Operation>`, answers as JSON, errors as `{"__type": ..., "message": ...}`), with HTTP/1.1 keep-alive
as botocore's connection pool expects. For `make bench`: moto's DynamoDB spends some 45 ms of CPU per UpdateItem
validating its expression tree (measured with cProfile in its process), the lean table well under one.

`python -m local.aws.lean_server` prints its endpoint, serves until its standard input closes, then prints the
calls it served per operation as one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local.aws.child_process import ChildProcess
from local.aws.lean_dynamodb import LeanDynamoDB, ServiceError
from local.aws.lean_sqs import LeanSqs
from local.serving import InBackground

MODULE = "local.aws.lean_server"
_VARIABLES = {"dynamodb": "AWS_ENDPOINT_URL_DYNAMODB", "sqs": "AWS_ENDPOINT_URL_SQS"}
_PREFIXES = {"DynamoDB_20120810.": "dynamodb", "AmazonSQS.": "sqs"}
# SQS's JSON protocol names some errors by their older query-protocol code too (botocore reports that one)
_SQS_QUERY_CODES = {"QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue"}
_ERROR_NAMESPACES = {"dynamodb": "com.amazonaws.dynamodb.v20120810#", "sqs": "com.amazonaws.sqs#"}


class LeanServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.dynamodb = LeanDynamoDB()
        self.sqs = LeanSqs()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: botocore reuses its connections
            # each answer leaves in one write, at once: headers and body in separate small writes would wait for
            # the client's delayed ACK (Nagle), some 40 ms a call on a kept-alive connection
            wbufsize = 1 << 16
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload, headers = server.answer(self.headers.get("X-Amz-Target", ""), body)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        http = ThreadingHTTPServer((host, 0), _Handler)
        http.daemon_threads = True
        self._served = InBackground(http, name="lean-aws")
        self.sqs.base_url = self.endpoint

    @property
    def endpoint(self) -> str:
        return self._served.url

    def start(self) -> None:
        self._served.start()

    def stop(self) -> None:
        self._served.stop()

    def answer(self, target: str, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        prefix = next((p for p in _PREFIXES if target.startswith(p)), None)
        service = _PREFIXES.get(prefix or "", "")
        content_type = "application/x-amz-json-1.0"
        try:
            if prefix is None:
                raise ServiceError("UnknownOperationException", f"not served here: {target!r}")
            request = json.loads(body or b"{}")
            handler = self.dynamodb if service == "dynamodb" else self.sqs
            result = handler.handle(target[len(prefix) :], request)
            return 200, json.dumps(result).encode(), {"Content-Type": content_type}
        except ServiceError as exc:
            error: dict[str, Any] = {
                "__type": _ERROR_NAMESPACES.get(service, "") + exc.code,
                "message": exc.message,
                **exc.extra,
            }
            headers = {"Content-Type": content_type}
            if service == "sqs":
                headers["x-amzn-query-error"] = f"{_SQS_QUERY_CODES.get(exc.code, exc.code)};Sender"
            return exc.status, json.dumps(error).encode(), headers

    def calls(self) -> dict[str, int]:
        return {**self.dynamodb.calls, **self.sqs.calls}


class LeanAws:
    """The lean DynamoDB and the lean SQS, each `python -m local.aws.lean_server` in a process of its own (a core
    each if need be), named by `AWS_ENDPOINT_URL_DYNAMODB` and `AWS_ENDPOINT_URL_SQS` while it runs: botocore
    prefers them to `AWS_ENDPOINT_URL`, so a local stack started inside sends the queue and the table here and
    the rest (the secret) to moto. The processes the stack starts (the bench's environments) inherit them."""

    def __init__(self) -> None:
        self._processes = {service: ChildProcess(MODULE) for service in _VARIABLES}
        self._saved: dict[str, str | None] = {}

    def __enter__(self) -> LeanAws:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        for service, process in self._processes.items():
            process.start()
            variable = _VARIABLES[service]
            self._saved[variable] = os.environ.get(variable)
            os.environ[variable] = process.endpoint

    def stop(self) -> None:
        for process in self._processes.values():
            process.stop()
        for variable, value in self._saved.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value

    def cpu_seconds(self) -> dict[str, float]:
        return {service: process.cpu_seconds() for service, process in self._processes.items()}

    def calls(self) -> dict[str, int]:
        """After the block: the calls each process served, per operation."""
        calls: dict[str, int] = {}
        for process in self._processes.values():
            if process.final_line.startswith("{"):
                calls.update(json.loads(process.final_line))
        return calls


def main() -> None:
    server = LeanServer()
    server.start()
    print(server.endpoint, flush=True)
    sys.stdin.read()
    server.stop()
    print(json.dumps(server.calls()), flush=True)


if __name__ == "__main__":
    main()
