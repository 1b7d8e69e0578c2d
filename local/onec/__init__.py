"""The 1C sandbox: 1C:Бухгалтерия предприятия 3.0's standard OData interface over real HTTP, as strict as a real
base where it matters, each rule citing its source.

Start at :mod:`local.onec.sandbox` (``OnecSandbox``: one request from arrival to answer, and the controls tests
use). Its parts:

- the protocol: :mod:`~local.onec.protocol` (service root, Basic auth, request and answer shapes, errors as 1C
  returns them, the HTTP server), :mod:`~local.onec.formats` (`$format`/Accept → Atom or JSON);
- the query language: :mod:`~local.onec.filter` (the `$filter` parser), :mod:`~local.onec.query` (`$select`,
  `$expand`, `$orderby`, `$top`/`$skip`, `$count`/`$inlinecount`, the rows a read examines);
- the base: :mod:`~local.onec.model` (the vocabulary of entity types), :mod:`~local.onec.base` (the seeded
  organisation, counterparties, contracts, items, bank accounts, warehouse, chart of accounts),
  :mod:`~local.onec.store` (the rows in memory);
- the entity sets as 1C groups them: :mod:`~local.onec.catalogs`, :mod:`~local.onec.documents`,
  :mod:`~local.onec.registers`, with :mod:`~local.onec.writes` (POST and PATCH), :mod:`~local.onec.posting` (the
  checks BP runs on posting, `/Post` and `/Unpost`), :mod:`~local.onec.accounting` (the accountant's actions) and
  :mod:`~local.onec.metadata` (`$metadata`);
- limits and faults: :mod:`~local.onec.limits` (latency, the session cap), :mod:`~local.onec.faults` (injected
  errors and outages), :mod:`~local.onec.releases` (the BP releases imitated and their VAT rates).
"""
