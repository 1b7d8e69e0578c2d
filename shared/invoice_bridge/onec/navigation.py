"""Navigation links that open a document in the 1C web client (reference/onec.md §7).

A link is `<web client URL>#e1cib/data/Документ.<Name>?ref=<32 hex digits>`. The 32 digits are not the GUID with
its dashes removed: 1C writes the fourth and fifth groups first, then the third, the second and the first
(GUID `12345678-1234-5678-9abc-123456789abc` → `9abc123456789abc5678123412345678`, the pair used by the tests of
andriy4k07/mcp-baf, tests/test_objects.py; in the links of 1C's own test scenarios the version digit of
version-1 GUIDs, the first of the third group, sits at position 17 accordingly).
"""

from __future__ import annotations

import re

_GUID = re.compile(r"^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$")
# OData entity set → the metadata name a navigation link uses
_METADATA_KINDS = {"Document_": "Документ.", "Catalog_": "Справочник."}


def navigation_ref(guid: str) -> str:
    match = _GUID.match(guid.strip().lower())
    if match is None:
        raise ValueError(f"not a GUID: {guid!r}")
    first, second, third, fourth, fifth = match.groups()
    return f"{fourth}{fifth}{third}{second}{first}"


def metadata_name(entity_set: str) -> str:
    for prefix, kind in _METADATA_KINDS.items():
        if entity_set.startswith(prefix):
            return kind + entity_set.removeprefix(prefix)
    raise ValueError(f"no navigation links for {entity_set}")


def document_link(web_client_url: str, entity_set: str, ref_key: str) -> str:
    """The link that opens the document, or "" without a web client URL (or a ref that is not a GUID)."""
    if not web_client_url:
        return ""
    try:
        ref = navigation_ref(ref_key)
    except ValueError:
        return ""
    return f"{web_client_url.rstrip('/')}/#e1cib/data/{metadata_name(entity_set)}?ref={ref}"
