"""`make run` stops cleanly on SIGTERM and SIGINT, and the operator commands then say the local stack is not
running instead of a traceback — also when a killed run left its state file behind (issue 12, item 9)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from invoice_bridge.operator_cli import main as operator_main
from local.aws.lambda_runtime import ROOT

STATE = ".local-stack.json"


def _start_make_run(cwd: Path) -> subprocess.Popen[str]:
    environment = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'shared'}"}
    return subprocess.Popen(
        [sys.executable, "-m", "local.runners.run"],
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 300  # a bound against a hang, not a performance check
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"make run ended early: {process.communicate()[0]}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("make run never wrote its state file")
        time.sleep(0.2)


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_make_run_and_removes_its_state_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signal_number: int
) -> None:
    process = _start_make_run(tmp_path)
    try:
        _wait_for(tmp_path / STATE, process)
        process.send_signal(signal_number)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert not (tmp_path / STATE).exists()

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="the local stack is not running"):
        operator_main(["--local", "status", "--deal", "1001"])


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens once the probe is closed


def test_a_stale_state_file_says_the_stack_is_not_running(tmp_path: Path) -> None:
    """What SIGKILL leaves behind: a state file whose endpoint no longer answers."""
    state = tmp_path / STATE
    state.write_text(
        json.dumps(
            {
                "queue_url": "q",
                "dead_letter_queue_url": "d",
                "table_name": "t",
                "secret_id": "s",
                "endpoint_url": f"http://127.0.0.1:{_closed_port()}",
                "region": "eu-central-1",
            }
        ),
        encoding="utf-8",
    )
    for command in (["status", "--deal", "1001"], ["replay", "--deal", "1001"], ["redrive"]):
        with pytest.raises(SystemExit, match=r"the local stack is not running .*is stale"):
            operator_main(["--local", "--state-file", str(state), *command])


def test_an_unreadable_state_file_says_the_stack_is_not_running(tmp_path: Path) -> None:
    state = tmp_path / STATE
    state.write_text("{half a", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"the local stack is not running .*is unreadable"):
        operator_main(["--local", "--state-file", str(state), "redrive"])
