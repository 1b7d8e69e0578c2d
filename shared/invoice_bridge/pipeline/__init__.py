"""The processor's pipeline: one SQS batch of queued deals (and new invoices) turned into 1C documents and
Bitrix24 comments, in steps a reader can follow in order, each a module with one job:

1. `read`: the batch's deals from Bitrix24, several per request, through the portal's circuit breaker.
2. `decide`: what each message asks for — skip, reject, withdraw a document, check ahead of the trigger (`preflight`),
   or invoice — from the deal as read and the ledger's record of it; nothing is written.
3. `claim`: this attempt's lease on the deal in the ledger, and what it took over (a document the ledger knows, or
   an earlier attempt whose outcome is unknown).
4. `write_onec`: the document found, created or updated in 1C (and an unposted draft marked when the deal leaves
   the trigger), through the 1C base's circuit breaker.
5. `tell_bitrix24`: what the manager reads in the timeline (catalog texts), queued per message and sent for the
   whole batch in one request.

`process` runs those steps for one message; `sqs_batch` runs the batch (partial failures, backoff) with the
pipelines `wiring` builds per portal; `outcome` and `rules` are the types every step shares.
"""
