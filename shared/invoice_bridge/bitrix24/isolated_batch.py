"""`batch` requests in which one failed request fails only what it carried.

Commands come in groups that stand or fall together (one deal's commands refer to each other through
`$result[…]`); groups are packed into requests of up to 50 commands, so the happy path costs what packing
costs. A request that fails as a whole (a 500, a timeout, an unreadable answer; the client has retried it
already) is split in halves, breadth-first, down to single groups: the groups that Bitrix24 can answer get
their answers in the same invocation, and a group that still fails alone gets that failure, transient or not
as the error says. Errors that concern the whole portal (401/403/404, 429, 503 rate limit) are not split, and
when the portal has answered nothing after `MAX_FAILURES_WITHOUT_ANSWER` failed requests it is taken to be
down: the remaining groups get the last failure without another request.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, TypeVar

from invoice_bridge.bitrix24.client import MAX_BATCH_COMMANDS, BatchResult, Bitrix24Client, Bitrix24Error

K = TypeVar("K", bound=Hashable)
Commands = Mapping[str, tuple[str, Mapping[str, Any]]]

PORTAL_WIDE_STATUSES = frozenset({401, 403, 404, 429, 503})
MAX_FAILURES_WITHOUT_ANSWER = 4
# After this many failures without an answer, requests carry one group only: a probe that tells a portal that
# is down from groups that each break the request they are in.
PROBE_AFTER_FAILURES = 2


def read_isolated(
    client: Bitrix24Client, groups: Sequence[tuple[K, Commands]], *, max_commands: int = MAX_BATCH_COMMANDS
) -> dict[K, BatchResult | Bitrix24Error]:
    """Every group's own slice of a batch answer, or the request failure that its group alone met."""
    outcome: dict[K, BatchResult | Bitrix24Error] = {}
    pending: deque[list[tuple[K, Commands]]] = deque(_packed(groups, max_commands))
    answered = False
    failures_without_answer = 0
    given_up: Bitrix24Error | None = None
    while pending:
        chunk = pending.popleft()
        if given_up is not None:
            outcome.update((key, given_up) for key, _ in chunk)
            continue
        if not answered and failures_without_answer >= PROBE_AFTER_FAILURES and len(chunk) > 1:
            pending.appendleft(chunk[1:])
            chunk = chunk[:1]
        commands = {name: command for _, group in chunk for name, command in group.items()}
        try:
            result = client.batch(commands)
        except Bitrix24Error as error:
            if not answered:
                failures_without_answer += 1
            portal_wide = error.status in PORTAL_WIDE_STATUSES
            if portal_wide or failures_without_answer >= MAX_FAILURES_WITHOUT_ANSWER:
                given_up = error
                outcome.update((key, error) for key, _ in chunk)
            elif len(chunk) == 1:
                outcome[chunk[0][0]] = error
            else:
                middle = len(chunk) // 2
                pending.extend((chunk[:middle], chunk[middle:]))  # breadth-first: siblings before depth
            continue
        answered = True
        for key, group in chunk:
            outcome[key] = _slice(result, group)
    return outcome


def _packed(groups: Sequence[tuple[K, Commands]], max_commands: int) -> list[list[tuple[K, Commands]]]:
    chunks: list[list[tuple[K, Commands]]] = []
    size = 0
    for key, group in groups:
        if not chunks or size + len(group) > max_commands:
            chunks.append([])
            size = 0
        chunks[-1].append((key, group))
        size += len(group)
    return chunks


def _slice(result: BatchResult, group: Commands) -> BatchResult:
    return BatchResult(
        results={name: result.results[name] for name in group if name in result.results},
        errors={name: result.errors[name] for name in group if name in result.errors},
        totals={name: result.totals[name] for name in group if name in result.totals},
        nexts={name: result.nexts[name] for name in group if name in result.nexts},
    )
