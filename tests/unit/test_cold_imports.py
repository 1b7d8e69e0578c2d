"""What each function's cold start imports: the receiver and the processor never load the X-Ray SDK, and the
receiver no HTTP router (together ~60 % of the receiver's cold import). A fresh interpreter per function, as
Lambda's init; what it imports, never how long it takes (`python -X importtime` gives the times)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK = "import json, sys, app; print(json.dumps(sorted(sys.modules)))"


def modules_after_import(function: str) -> set[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "shared"), str(ROOT / "functions" / function)]),
        "POWERTOOLS_SERVICE_NAME": "test",
    }
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", CHECK], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout))


@pytest.mark.parametrize("function", ["webhook_receiver", "invoice_processor"])
def test_no_xray_sdk_in_the_cold_start(function: str) -> None:
    assert not {name for name in modules_after_import(function) if name.startswith("aws_xray_sdk")}


def test_the_receiver_loads_no_router_and_no_1c_or_bitrix24_client() -> None:
    loaded = modules_after_import("webhook_receiver")
    assert "aws_lambda_powertools.event_handler" not in loaded
    assert not {name for name in loaded if name.startswith(("invoice_bridge.onec", "invoice_bridge.bitrix24"))}
    assert "requests" not in loaded
