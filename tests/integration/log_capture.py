"""The bridge's JSON log lines as Lambda writes them (stdout), captured for one test."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from invoice_bridge.observability import logger


class CapturedLog:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line.startswith("{")]


@contextmanager
def bridge_log() -> Iterator[CapturedLog]:
    captured = CapturedLog()
    handler = logger.logger_handler
    assert isinstance(handler, logging.StreamHandler)
    saved = handler.setStream(captured.stream)
    try:
        yield captured
    finally:
        handler.setStream(saved)
