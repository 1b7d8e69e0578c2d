"""The 1C sandbox's limits: a delay before every answer (to test a bridge's timeouts) and the cap on requests
processed at once — 1C's licence-like session limit, beyond which a request is refused with 503 «Превышено
максимальное количество сеансов».
"""

from __future__ import annotations

import threading

from local.onec.protocol import ODataError

SESSION_LIMIT_MESSAGE = "Превышено максимальное количество сеансов"


class SessionCap:
    """Counts the requests being processed; with `max_sessions` refuses one beyond it."""

    def __init__(self, max_sessions: int | None) -> None:
        if max_sessions is not None and max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")
        self._max_sessions = max_sessions
        self._sessions = 0
        self._lock = threading.Lock()

    def enter(self) -> bool:
        """Take a session; False (take none) when the cap is reached."""
        with self._lock:
            if self._max_sessions is not None and self._sessions >= self._max_sessions:
                return False
            self._sessions += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self._sessions -= 1


def session_limit_error() -> ODataError:
    return ODataError(503, "-1", SESSION_LIMIT_MESSAGE)
