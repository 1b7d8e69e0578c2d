"""Many sandbox portals behind one HTTP server: the webhook path (`/rest/<user>/<code>/`) says which portal.

Each portal is a whole :class:`Bitrix24Sandbox` (its own deals, limits, request log); only the listening socket
is shared, so a test can configure a hundred portals without a hundred servers. A path that names no portal is
answered as a portal answers a wrong webhook code (401 NO_AUTH_FOUND).

    with Bitrix24Portals(sandboxes) as portals:
        url = portals.webhook_url(sandboxes[0])
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from types import TracebackType
from urllib.parse import unquote, urlsplit

from local.bitrix24_sandbox import Bitrix24Sandbox, _RequestHandler, _SandboxHTTPServer
from local.bitrix24_sandbox_protocol import encode_json


class Bitrix24Portals:
    def __init__(self, sandboxes: Iterable[Bitrix24Sandbox], host: str = "127.0.0.1") -> None:
        self.sandboxes = list(sandboxes)
        self._by_path = {(s.user_id, s.webhook_code): s for s in self.sandboxes}
        if len(self._by_path) != len(self.sandboxes):
            raise ValueError("two sandboxes share a webhook path")
        self._host = host
        self._server: _SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Bitrix24Portals:
        server = _SandboxHTTPServer((self._host, 0), _RequestHandler)
        server.sandbox = self  # type: ignore[assignment]  # it only calls handle()
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="bitrix24-portals", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Bitrix24Portals:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def webhook_url(self, sandbox: Bitrix24Sandbox) -> str:
        if self._server is None:
            raise RuntimeError("the portals' server is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/rest/{sandbox.user_id}/{sandbox.webhook_code}/"

    def handle(self, http_method: str, target: str, content_type: str, body: bytes) -> tuple[int, str]:
        segments = [unquote(part) for part in urlsplit(target).path.split("/")]
        sandbox = (
            self._by_path.get((segments[2], segments[3])) if len(segments) >= 5 and segments[1] == "rest" else None
        )
        if sandbox is None:
            return 401, encode_json({"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"})
        return sandbox.handle(http_method, target, content_type, body)
