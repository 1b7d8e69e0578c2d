"""Many sandbox portals behind one HTTP server: the webhook path (`/rest/<user>/<code>/`) says which portal.

Each portal is a whole :class:`Bitrix24Sandbox` (its own deals, limits, request log); only the listening socket
is shared, so a test can configure a hundred portals without a hundred servers. A path that names no portal is
answered as a portal answers a wrong webhook code (401 NO_AUTH_FOUND).

    with Bitrix24Portals(sandboxes) as portals:
        url = portals.webhook_url(sandboxes[0])
"""

from __future__ import annotations

from collections.abc import Iterable

from local.bitrix24.protocol import WRONG_AUTH, RestPath
from local.bitrix24.sandbox import Bitrix24Sandbox
from local.bitrix24.server import Served, ServedOverHTTP
from local.bitrix24.wire import encode_json


class Bitrix24Portals(ServedOverHTTP):
    def __init__(self, sandboxes: Iterable[Bitrix24Sandbox], host: str = "127.0.0.1") -> None:
        self.sandboxes = list(sandboxes)
        self._by_path = {(s.user_id, s.webhook_code): s for s in self.sandboxes}
        if len(self._by_path) != len(self.sandboxes):
            raise ValueError("two sandboxes share a webhook path")
        self._http = Served(self, host, 0, thread_name="bitrix24-portals", title="the portals' server")

    def webhook_url(self, sandbox: Bitrix24Sandbox) -> str:
        return f"{self._http.base_url}/rest/{sandbox.user_id}/{sandbox.webhook_code}/"

    def handle(self, http_method: str, target: str, content_type: str, body: bytes) -> tuple[int, str]:
        webhook = RestPath.parse(target).webhook
        sandbox = self._by_path.get(webhook) if webhook is not None else None
        if sandbox is None:
            return 401, encode_json(WRONG_AUTH)
        return sandbox.handle(http_method, target, content_type, body)
