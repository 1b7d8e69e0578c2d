"""`make coldstart`: each function's cold import, as Lambda's init does it — `import app` in a fresh interpreter
with `shared/` and the function's directory on the path — N times; prints the minimum and the median (wall
time: the minimum is the least disturbed by other load on the machine). `python -X importtime` shows where it goes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

from local.lambda_runtime import ROOT

FUNCTIONS = ("webhook_receiver", "invoice_processor", "reconciler", "status_sync")
_MEASURE = "import time; started = time.perf_counter(); import app; print(time.perf_counter() - started)"


def cold_import_ms(function: str) -> float:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "shared"), str(ROOT / "functions" / function)]),
        "POWERTOOLS_SERVICE_NAME": "coldstart",
    }
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", _MEASURE], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return float(out.stdout) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args(argv).runs
    for function in FUNCTIONS:
        if not (ROOT / "functions" / function / "app.py").exists():
            continue
        times = [cold_import_ms(function) for _ in range(runs)]
        print(
            f"{function:18} cold import: min {min(times):4.0f} ms, median {statistics.median(times):4.0f} ms ({runs} runs)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
