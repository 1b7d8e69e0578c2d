"""What handling one message ends in: an `Outcome` (logged, and counted by the local runs), or a
`TransientFailure` that sends the message back to SQS for a later attempt."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TransientFailure(RuntimeError):
    """Try this message again later (SQS redelivers it; after maxReceiveCount it goes to the DLQ).

    `not_before`: the clock time before which a retry cannot succeed (a lease's end, a breaker's next probe).
    `setup`: 1C's or the secret's set-up holds it — counted by the SetupFailures metric for the alarm."""

    def __init__(self, message: str, *, not_before: float | None = None, setup: bool = False) -> None:
        super().__init__(message)
        self.not_before = not_before
        self.setup = setup


class OutcomeKind(StrEnum):
    CREATED = "created"  # a new draft in 1C
    FOUND = "found"  # the draft already existed in 1C (an earlier attempt created it)
    UPDATED = "updated"  # the deal changed and its unposted draft was updated in place
    CHANGED_AFTER_POSTING = "changed_after_posting"  # the deal changed after posting: 1C left alone, people told
    WITHDRAWN = "withdrawn"  # the deal left the trigger stage after its document was made
    DUPLICATE = "duplicate"  # nothing to do: the same content was handled before
    REJECTED = "rejected"
    SKIPPED = "skipped"  # not in a trigger stage, or not something the bridge invoices
    WRITE_BACK = "write_back"  # a Bitrix24 write retried on its own
    PREFLIGHT = "preflight"  # checked in a stage before the trigger, nothing written to 1C; the manager told


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    detail: str
