"""The receiver as API Gateway runs it under a burst, for `make bench`: several execution environments, each a
process of its own behind its own local HTTP endpoint (one environment serves one request at a time, as in
Lambda; API Gateway spreads a burst over as many as it needs).

`python -m local.aws.receiver_workers` is one environment: it prints its URL, serves until its standard input
closes, then prints the CPU its invocations took as one JSON line.
"""

from __future__ import annotations

import json
import sys
import time

from local.aws.child_process import ChildProcess


class ReceiverWorkers:
    """`count` environments; the caller's environment variables (the local stack's) are theirs."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._processes: list[ChildProcess] = []
        self.urls: list[str] = []

    def start(self) -> None:
        for _ in range(self._count):
            process = ChildProcess("local.aws.receiver_workers")
            process.start()
            self._processes.append(process)
            self.urls.append(process.endpoint)

    def stop(self) -> float:
        """Stops every environment; the CPU seconds their invocations took, together."""
        for process in self._processes:
            process.close_input()
        for process in self._processes:
            process.stop(timeout=60)
        cpu = sum(float(json.loads(p.final_line)["cpu_seconds"]) for p in self._processes if p.final_line)
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
