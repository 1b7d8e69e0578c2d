"""A local piece of the stack in a process of its own, so that it takes none of the bridge's interpreter: moto
(`LocalStack(moto_process=True)`: SQS apart from DynamoDB and Secrets Manager, `AWS_ENDPOINT_URL_SQS`, as they are
apart in AWS), the lean table and queue `make bench` runs on (local.aws.lean_server.LeanAws), and the bench's
Lambda execution environments (local.aws.receiver_workers, local.aws.processor_workers). The soak keeps moto
in-process: it scales moto's SQS clock.

Each is `python -m MODULE ARGUMENTS…`: it prints one line when it is ready (a server: its endpoint), works until its
standard input closes, and may print its figures as a last line (one JSON object)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ENDPOINT = "http://127.0.0.1:"


class ChildProcess:
    """`python -m module *arguments`, ready when its first line starts with `ready` (kept as `first_line`: a server's
    endpoint); what it prints last, after its input closes, is `final_line`."""

    def __init__(self, module: str, *arguments: str, ready: str = ENDPOINT) -> None:
        self._command = [sys.executable, "-m", module, *arguments]
        self._module = module
        self._ready = ready
        self._process: subprocess.Popen[str] | None = None
        self.first_line = ""
        self.final_line = ""

    @property
    def endpoint(self) -> str:
        return self.first_line

    def start(self) -> None:
        self._process = subprocess.Popen(  # noqa: S603 - our own module, no shell
            self._command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None  # noqa: S101
        self.first_line = self._process.stdout.readline().strip()
        if not self.first_line.startswith(self._ready):
            self.stop()
            raise RuntimeError(f"{self._module}'s process did not start: {self.first_line!r}")

    def cpu_seconds(self) -> float:
        """The CPU the process has used so far (Linux /proc; 0 elsewhere)."""
        if self._process is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def close_input(self) -> None:
        """Tells the process to finish (several at once: close each one's input first, then `stop` each)."""
        if self._process is not None and self._process.stdin is not None:
            self._process.stdin.close()
            self._process.stdin = None  # communicate() in Python 3.11 flushes a stdin it still holds, closed or not

    def stop(self, timeout: float = 10) -> None:
        """Closes its input and waits up to `timeout` seconds for it to finish (then kills it)."""
        process = self._process
        if process is None:
            return
        self.close_input()
        self._process = None
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate(timeout=10)
            return
        self.final_line = (output.strip().splitlines() or [""])[-1]
