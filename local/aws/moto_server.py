"""moto in server mode on 127.0.0.1, with one difference from ThreadedMotoServer: DynamoDB requests are
served one at a time. DynamoDB makes each conditional write atomic; moto's in-memory tables do not, and the
exactly-once tests race many writers against one item."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from local.serving import InBackground

MODULE = "local.aws.moto_server"  # `python -m` it: moto in a process of its own (local.aws.child_process)
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _serialise_dynamodb(app: WsgiApp) -> WsgiApp:
    lock = threading.Lock()

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB"):
            with lock:
                return list(app(environ, start_response))
        return app(environ, start_response)

    return wrapped


class MotoServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        app = DomainDispatcherApplication(create_backend_app)
        server = make_server(host, 0, _serialise_dynamodb(app), threaded=True, request_handler=MotoRequestHandler)
        self._served = InBackground(server, name="moto")

    @property
    def endpoint(self) -> str:
        return self._served.url

    def start(self) -> None:
        self._served.start()

    def stop(self) -> None:
        self._served.stop()


def _lighter_sqs() -> None:
    """Two of moto's SQS costs that grow with the backlog, each replaced by the same result computed directly,
    for the bench's moto process (the tests keep moto as it is):
    - a message's retention is checked by computing every attribute of its queue, the approximate counts included
      (each a pass over all messages), for each message handed out: n² clock reads per receive from a backlog of n;
      here the one attribute is read;
    - every visibility and delay check reads the clock through datetime arithmetic; here through time.time()."""
    import time
    from datetime import datetime

    import moto.sqs.models as sqs_models
    from moto.sqs.models import Message, SQSBackend

    def is_message_valid_based_on_retention_period(self: SQSBackend, queue_name: str, message: Message) -> bool:
        retention = int(getattr(self.get_queue(queue_name), "message_retention_period"))  # noqa: B009
        return retention + message.sent_timestamp / 1000 > time.time()  # type: ignore[operator]

    def now_or(original: Callable[..., Any], scale: float) -> Callable[..., Any]:
        def clock(dt: datetime | None = None) -> Any:
            return time.time() * scale if dt is None else original(dt)

        return clock

    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period  # type: ignore[method-assign]
    for name, scale in (("unix_time", 1.0), ("unix_time_millis", 1000.0)):
        setattr(sqs_models, name, now_or(getattr(sqs_models, name), scale))


def main() -> None:
    """`python -m local.aws.moto_server`: serves on 127.0.0.1, prints the endpoint, stops when stdin closes."""
    import logging
    import sys

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request lines
    _lighter_sqs()
    server = MotoServer()
    server.start()
    print(server.endpoint, flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()
