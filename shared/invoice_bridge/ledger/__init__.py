"""The DynamoDB ledger: one table, keyed by `pk`, whose items are of three kinds, each with a module of its own.

- records.py: what a deal's item says (`LedgerRecord`, `LedgerStatus`); deals.py: the deal items and their
  changes, every one a conditional write (`Ledger`), with the pre-flight's note beside each deal;
- portal_pin.py: the first release's single portal, pinned by its first accepted event (`PortalPinStore`);
- checkpoints.py: the reconciler's checkpoint per portal (`CheckpointStore`);
- table.py: the item reads and the conditional write the three share.
"""
