"""`or` filters chunked to a URL length, measured as the client sends the query."""

import uuid

from invoice_bridge.onec.batched import or_filters
from invoice_bridge.onec.client import ODataClient
from invoice_bridge.onec.literals import guid_literal

CLIENT = ODataClient("http://127.0.0.1:1/base/odata/standard.odata", username="u", password="p", timeout=1)
SET = "Catalog_Номенклатура"
TERMS = [f"Ref_Key eq {guid_literal(str(uuid.UUID(int=n)))}" for n in range(200)]


def test_every_term_is_asked_once_and_every_url_fits() -> None:
    for limit in (1024, 2048, 8000):
        filters = or_filters(CLIENT, SET, TERMS, select=("Ref_Key",), max_url_length=limit)
        assert [term for condition in filters for term in condition.split(" or ")] == TERMS
        assert all(CLIENT.query_url_length(SET, filter=f, select=("Ref_Key",)) <= limit for f in filters)


def test_a_longer_url_takes_fewer_requests() -> None:
    short = or_filters(CLIENT, SET, TERMS, select=("Ref_Key",), max_url_length=2048)
    long = or_filters(CLIENT, SET, TERMS, select=("Ref_Key",), max_url_length=8000)
    assert len(long) <= 2 < len(short)


def test_a_suffix_is_and_ed_to_each_parenthesised_chunk() -> None:
    filters = or_filters(CLIENT, SET, TERMS[:3], select=("Ref_Key",), suffix=" and DeletionMark eq false")
    assert filters == [f"({' or '.join(TERMS[:3])}) and DeletionMark eq false"]
