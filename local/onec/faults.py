"""Faults a test injects into the 1C sandbox: the next requests failing with an `odata.error` (500, 504, …),
an outage answering every request alike until lifted, and a hook asked about each request (the soak's weather).

With `after_write` a request is served first (a POST is stored) and only its answer fails — 1C stored the
document but the answer was lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from local.onec.protocol import ODataError


@dataclass(frozen=True)
class InjectedFault:
    status: int
    code: str
    message: str
    after_write: bool
    http_method: str | None = None  # None: the next request of any method

    def error(self) -> ODataError:
        return ODataError(self.status, self.code, self.message)


FaultHook = Callable[[str, str], InjectedFault | None]
"""Called for every request with its HTTP method and entity set ("" for the service root): a fault to answer
with instead, or None to serve it."""


def injected_fault(status: int, code: str, message: str, *, after_write: bool = False) -> InjectedFault:
    """A fault for a `FaultHook` to return; with `after_write` the request is served (a POST is stored) and only
    its answer is replaced (1C stored the document but the answer was lost)."""
    return InjectedFault(status, code, message, after_write)


class Faults:
    """The faults waiting for requests; the sandbox calls these under its lock."""

    def __init__(self) -> None:
        self._queued: list[InjectedFault] = []
        self._outage: InjectedFault | None = None
        self._hook: FaultHook | None = None

    def queue(self, count: int, fault: InjectedFault) -> None:
        """`fault` for the next `count` requests (of its method), after those already waiting."""
        self._queued.extend([fault] * count)

    def set_outage(self, status: int | None, code: str, message: str) -> None:
        self._outage = None if status is None else InjectedFault(status, code, message, after_write=False)

    def set_hook(self, hook: FaultHook | None) -> None:
        self._hook = hook

    def take(self, method: str, entity_set: str) -> InjectedFault | None:
        """The fault this request meets: the outage, else the first queued one for its method, else the hook's."""
        if self._outage is not None:
            return self._outage
        waiting = [i for i, f in enumerate(self._queued) if f.http_method in (None, method)]
        fault = self._queued.pop(waiting[0]) if waiting else None
        if fault is None and self._hook is not None:
            fault = self._hook(method, entity_set)
        return fault
