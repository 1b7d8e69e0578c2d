"""1C look-ups several at a time: terms joined by `or`, as few filters as fit within a URL length.

1C's OData answers `$filter` with `or` (reference onec.md §1.3 table); the limit is the web server's: Apache's
default request line is 8190 bytes (LimitRequestLine), IIS's default query string 2048 bytes (maxQueryString,
raise it for 1C publications on IIS or set OnecMaxUrlLength). The URL is measured as the client sends it,
percent-encoded.
"""

from __future__ import annotations

from collections.abc import Sequence

from invoice_bridge.onec.client import ODataClient

OR = " or "
DEFAULT_MAX_URL_LENGTH = 8000


def or_filters(
    client: ODataClient,
    entity_set: str,
    terms: Sequence[str],
    *,
    select: tuple[str, ...],
    max_url_length: int = DEFAULT_MAX_URL_LENGTH,
    suffix: str = "",
) -> list[str]:
    """The terms joined by `or` into as few filters as keep each query's URL within `max_url_length`;
    `suffix` (e.g. " and DeletionMark eq false") is and-ed to each, the `or`s parenthesised."""
    filters: list[str] = []
    chunk: list[str] = []

    def joined(parts: list[str]) -> str:
        return f"({OR.join(parts)}){suffix}" if suffix else OR.join(parts)

    for term in terms:
        if chunk:
            length = client.query_url_length(entity_set, filter=joined([*chunk, term]), select=select)
            if length > max_url_length:
                filters.append(joined(chunk))
                chunk = []
        chunk.append(term)
    if chunk:
        filters.append(joined(chunk))
    return filters
