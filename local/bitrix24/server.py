"""The HTTP server under the sandbox: a threaded ``http.server`` on a daemon thread that hands every GET and POST
to one object's ``handle`` (a :class:`~local.bitrix24.sandbox.Bitrix24Sandbox`, or the
:class:`~local.bitrix24.portals.Bitrix24Portals` in front of many) and writes back its JSON.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol, Self

from local.serving import InBackground


class Answers(Protocol):
    def handle(self, http_method: str, target: str, content_type: str, body: bytes) -> tuple[int, str]:
        """Answer one HTTP request: the status and the JSON text."""
        ...


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    app: Answers


class _RequestHandler(BaseHTTPRequestHandler):
    server: _HTTPServer

    def do_GET(self) -> None:
        self._respond(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._respond(self.rfile.read(length) if length > 0 else b"")

    def _respond(self, body: bytes) -> None:
        content_type = self.headers.get("Content-Type") or ""
        status, text = self.server.app.handle(self.command, self.path, content_type, body)
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


class Served:
    """``app`` served at ``host:port`` (0: any free port) between :meth:`start` and :meth:`stop`."""

    def __init__(self, app: Answers, host: str, port: int, *, thread_name: str, title: str) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._thread_name = thread_name
        self._title = title  # what the "not started" error names
        self._served: InBackground | None = None

    def start(self) -> None:
        if self._served is not None:
            return
        server = _HTTPServer((self._host, self._port), _RequestHandler)
        server.app = self._app
        self._served = InBackground(server, name=self._thread_name, poll_interval=0.05)
        self._served.start()

    def stop(self) -> None:
        served, self._served = self._served, None
        if served is not None:
            served.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        if self._served is None:
            raise RuntimeError(f"{self._title} is not started")
        return self._served.url


class ServedOverHTTP:
    """Start, stop and ``with`` for a class that answers HTTP through its ``_http``."""

    _http: Served

    def start(self) -> Self:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
