"""The Bitrix24 sandbox: a local portal's incoming-webhook REST API over real HTTP, as strict as a real portal where
it matters, each rule citing its source.

Start at :mod:`local.bitrix24.sandbox` (``Bitrix24Sandbox``: one request from arrival to answer, and the controls
tests use). Its parts:

- the protocol: :mod:`~local.bitrix24.protocol` (webhook path and authorisation, parameters, JSON answers and
  errors), :mod:`~local.bitrix24.wire` (PHP bracket parameters, exact JSON numbers), :mod:`~local.bitrix24.server`
  (the threaded HTTP server);
- the records: :mod:`~local.bitrix24.store` (seeded deals, new invoices, companies, requisites, products, and the
  write-backs), :mod:`~local.bitrix24.values`, :mod:`~local.bitrix24.user_fields`;
- the REST methods by family: :mod:`~local.bitrix24.crm_deal`, :mod:`~local.bitrix24.crm_item` (deals and new
  invoices), :mod:`~local.bitrix24.crm_product_rows`, :mod:`~local.bitrix24.crm_status` (stages),
  :mod:`~local.bitrix24.crm_requisite`, :mod:`~local.bitrix24.crm_company`, :mod:`~local.bitrix24.crm_timeline`,
  :mod:`~local.bitrix24.catalog`, :mod:`~local.bitrix24.batch`; list methods share :mod:`~local.bitrix24.lists`;
- limits and faults: :mod:`~local.bitrix24.limits` (leaky bucket, operating time, the ``time`` block),
  :mod:`~local.bitrix24.faults` (outages, failures, crashes a test injects);
- many portals behind one server: :mod:`~local.bitrix24.portals`.
"""
