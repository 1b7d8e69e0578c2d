"""The receiver as API Gateway runs it under a burst, for `make bench`: several execution environments, each a
process of its own behind its own local HTTP endpoint (one environment serves one request at a time, as in
Lambda; API Gateway spreads a burst over as many as it needs).

`python -m local.aws.receiver_workers` is one environment: it prints its URL, serves until its standard input
closes, then prints the CPU its invocations took as one JSON line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time


class ReceiverWorkers:
    """`count` environments; the caller's environment variables (the local stack's) are theirs."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._processes: list[subprocess.Popen[str]] = []
        self.urls: list[str] = []

    def start(self) -> None:
        for _ in range(self._count):
            self._processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "local.aws.receiver_workers"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        for process in self._processes:
            assert process.stdout is not None  # noqa: S101
            url = process.stdout.readline().strip()
            if not url.startswith("http://127.0.0.1:"):
                raise RuntimeError("a receiver environment did not start")
            self.urls.append(url)

    def stop(self) -> float:
        """Stops every environment; the CPU seconds their invocations took, together."""
        cpu = 0.0
        for process in self._processes:
            if process.stdin is not None:
                process.stdin.close()
        for process in self._processes:
            assert process.stdout is not None  # noqa: S101
            lines = process.stdout.read().strip().splitlines()
            process.wait(timeout=60)
            cpu += float(json.loads(lines[-1])["cpu_seconds"]) if lines else 0.0
        self._processes = []
        return cpu


def main() -> None:
    from local.aws.lambda_runtime import HttpApiGateway, load_handler

    gateway = HttpApiGateway(load_handler("webhook_receiver"))
    gateway.start()
    print(gateway.url, flush=True)
    started = time.monotonic()
    sys.stdin.read()
    gateway.stop()
    print(json.dumps({"cpu_seconds": gateway.cpu_seconds, "seconds": time.monotonic() - started}), flush=True)


if __name__ == "__main__":
    main()
