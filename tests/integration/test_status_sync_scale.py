"""500 open documents through the status sync's real handler: within the cost bounds and the timeout."""

from __future__ import annotations

import math

from local.aws.lambda_runtime import ROOT
from local.aws.template_resources import load_template
from local.runners.status_bench import prepare
from local.stack import STATUS_SYNC_ID, LocalStack


def test_500_open_documents_sweep_within_the_cost_bounds_and_the_timeout(stack: LocalStack) -> None:
    refs = prepare(stack, 500)
    timeout = float(load_template(ROOT / "template.yaml")["Resources"][STATUS_SYNC_ID]["Properties"]["Timeout"])

    stack.onec.reset_log()
    first = stack.run_status_sync(timeout_seconds=timeout)
    onec_requests = len(stack.onec.request_log)

    assert first["open_documents"] == len(refs)
    assert first["told"] == len(refs)  # every document was posted: each is told
    assert first["skipped_portals"] == []
    assert first["failed_portals"] == []
    assert onec_requests == first["onec_requests"] <= 3 * math.ceil(500 / 40) + 1
    assert first["bitrix24_requests"] <= math.ceil(first["bitrix24_writes"] / 50) + 1
    assert first["closed"] > 0

    second = stack.run_status_sync(timeout_seconds=timeout)
    assert second["open_documents"] == len(refs) - first["closed"]
    assert second["told"] == 0
    assert second["bitrix24_requests"] == 0
    assert second["onec_requests"] <= 3 * math.ceil(second["open_documents"] / 40) + 1
