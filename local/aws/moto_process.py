"""A local AWS server in a process of its own, so that it takes none of the bridge's interpreter: moto's
(`LocalStack(moto_process=True)`: SQS apart from DynamoDB and Secrets Manager, `AWS_ENDPOINT_URL_SQS`, as they are
apart in AWS) or the lean table and queue `make bench` runs on (local.aws.lean_server.LeanAws). The soak keeps
moto in-process: it scales moto's SQS clock."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


class MotoProcess:
    """`local.aws.moto_server` run as `python -m local.aws.moto_server` (or another such server, `module`: the lean table
    and queue, local.aws.lean_server); it prints its endpoint and serves until its standard input closes. What
    it prints then (the lean server: its calls per operation, one JSON line) is `final_line`."""

    def __init__(self, module: str = "local.aws.moto_server") -> None:
        self._module = module
        self._process: subprocess.Popen[str] | None = None
        self._endpoint = ""
        self.final_line = ""

    @property
    def endpoint(self) -> str:
        return self._endpoint

    def start(self) -> None:
        self._process = subprocess.Popen(  # noqa: S603 - our own module, no shell
            [sys.executable, "-m", self._module],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None  # noqa: S101
        self._endpoint = self._process.stdout.readline().strip()
        if not self._endpoint.startswith("http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"{self._module}'s process did not start: {self._endpoint!r}")

    def cpu_seconds(self) -> float:
        """The CPU moto's process has used so far (Linux /proc; 0 elsewhere)."""
        if self._process is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
            if process.stdout is not None:
                self.final_line = (process.stdout.read().strip().splitlines() or [""])[-1]
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
