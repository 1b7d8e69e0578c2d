"""Failures a test makes the sandbox answer with, before or instead of serving a call.

In the order the sandbox asks: an outage (every request fails until lifted), the queued ``fail_next`` failures, the
fault hook (asked per request with its method). Crashes (``crash_on``) are checked as a method runs, directly or in
a batch, and fail the whole HTTP request with 500, as a portal does when one command's PHP dies on a broken record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InjectedFault:
    """An HTTP status and the ``{"error", "error_description"}`` body answered in place of the call."""

    status: int
    error: str
    description: str

    def answer(self) -> tuple[int, dict[str, Any]]:
        return self.status, {"error": self.error, "error_description": self.description}


FaultHook = Callable[[str], InjectedFault | None]
"""Called for every HTTP request with its REST method (lower-case, ``"batch"`` for a batch): a failure to answer
with instead, or None to serve it."""


def injected_fault(status: int, error: str, description: str) -> InjectedFault:
    """A failure for a `FaultHook` to return: the HTTP status and the ``{"error", "error_description"}`` body."""
    return InjectedFault(status, error, description)


class CrashError(Exception):
    """A command the test made the portal die on (`crash_on`): the whole HTTP request answers 500."""


class Faults:
    """The failures set so far; the sandbox calls it under its lock."""

    def __init__(self) -> None:
        self._failures: list[InjectedFault] = []
        self._outage: InjectedFault | None = None
        self._crashes: list[tuple[str, dict[str, str]]] = []
        self._hook: FaultHook | None = None

    def fail_next(self, count: int, fault: InjectedFault) -> None:
        self._failures.extend(fault for _ in range(count))

    def set_outage(self, fault: InjectedFault | None) -> None:
        self._outage = fault

    def set_hook(self, hook: FaultHook | None) -> None:
        self._hook = hook

    def crash_on(self, method: str, params: dict[str, object]) -> None:
        self._crashes.append((method.lower(), {name: str(value) for name, value in params.items()}))

    def instead(self, method: str) -> InjectedFault | None:
        """The failure to answer this request with: the outage, else the next queued one, else the hook's."""
        if self._outage is not None:
            return self._outage
        if self._failures:
            return self._failures.pop(0)
        if self._hook is not None:
            return self._hook(method)
        return None

    def check_crash(self, method: str, params: dict[str, Any]) -> None:
        """Raise :class:`CrashError` when ``method`` with these parameters is one the test made crash."""
        for crashing, wanted in self._crashes:
            if crashing == method and all(str(params.get(name)) == value for name, value in wanted.items()):
                raise CrashError(method)
