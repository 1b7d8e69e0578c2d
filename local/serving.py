"""Every local HTTP server (the sandboxes, moto, the lean table and queue, the local API) is served the same way: a
``socketserver``-based server already bound, its ``serve_forever`` on a daemon thread between :meth:`start` and
:meth:`stop`, its address as an ``http://host:port`` URL."""

from __future__ import annotations

import threading
from socketserver import BaseServer


class InBackground:
    """``server`` answering on a daemon thread named ``name`` from :meth:`start` until :meth:`stop`."""

    def __init__(self, server: BaseServer, *, name: str, poll_interval: float = 0.5) -> None:
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(poll_interval,), name=name, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: where the server is bound."""
        address = self._server.server_address
        if not isinstance(address, tuple):
            raise TypeError(f"not an internet server: {address!r}")
        host, port = address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
