"""How a 1C document is tied to its deal: the bridge's own marker in `Комментарий`, and the two ways to find it.

The ledger is the first truth (DESIGN §3). A document the ledger knows is read by its `Ref_Key`
(`read_by_ref`). Only an attempt whose outcome is unknown (a crash or a lost answer around the 1C write) looks
1C up by the deal's key (`find_by_key`), and then:

- the match is exact: the marker is parsed out of the comment's final token and compared for equality, so
  `[b24:m:deal:12]` never matches deal 123, and text before the marker never counts;
- user text written into a comment (titles, URLs, stage names) has its brackets neutralised (`neutral`), so it
  can never form a marker, in any spelling;
- the query is narrow. 1C keeps every document table indexed by `Date` (with `Ref_Key`; it is how document
  journals and lists are ordered), so `Date ge datetime'…'` reads only the documents of that stretch of time.
  A match on the comment cannot use an index: `Комментарий` is an unlimited string (stored as a LOB), and
  `substringof` becomes `LIKE '%…%'`, a leading wildcard, so the base reads and compares every document of the
  table (0.6-0.9 s for 200,000 in the sandbox, minutes in a real base under load). So the query asks 1C for the
  documents since the attempt began (less a margin) of this buyer (`Контрагент_Key eq guid'…'`) that are not
  marked for deletion, and parses the markers of those few candidates here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from invoice_bridge.onec.client import ODataClient, ODataError
from invoice_bridge.onec.literals import datetime_literal, guid_literal

# Documents dates are naive local time in DocumentTimezone, the ledger holds epoch seconds. A day before the
# attempt began covers clock skew, a daylight-saving shift and a DocumentTimezone changed between attempts
# (Russia's zones differ by at most 10 hours); it adds one day of the base's documents to the rows 1C reads.
DATE_MARGIN = timedelta(days=1)
# A tax invoice is dated within 5 calendar days after its sale (Tax Code art. 168 p. 3); the bridge dates it
# on the sale's date.
TAX_INVOICE_WINDOW = timedelta(days=5)

# `[b24:<member_id>:<deal|invoice>:<id>]` as the comment's final token (after a space, or the whole comment):
# ASCII only (a Unicode digit, a fullwidth bracket or a capital letter is not the bridge's marker), no brackets,
# colons or spaces inside the member id.
_MARKER_RE = re.compile(r"(?<!\S)\[(b24:[^\s\[\]:]+:(?:deal|invoice):[1-9][0-9]*)\]\Z", re.ASCII)
_NEUTRAL = str.maketrans({"[": "(", "]": ")"})
DOCUMENT_FIELDS = (
    "Ref_Key",
    "Number",
    "Date",
    "Posted",
    "DataVersion",
    "СуммаДокумента",
    "Контрагент_Key",
    "Комментарий",
)


class OnecDocument(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    ref_key: str = Field(alias="Ref_Key")
    number: str = Field(default="", alias="Number")
    date: str = Field(default="", alias="Date")
    posted: bool = Field(default=False, alias="Posted")
    data_version: str = Field(default="", alias="DataVersion")
    total: Decimal = Field(default=Decimal(0), alias="СуммаДокумента")
    counterparty: str = Field(default="", alias="Контрагент_Key")
    comment: str = Field(default="", alias="Комментарий")


@dataclass(frozen=True)
class KeySearch:
    """Where the document of an attempt with an unknown outcome can be."""

    external_key: str
    since: datetime  # naive, in DocumentTimezone: no document of the attempt is dated earlier
    counterparty: str  # Ref_Key of the buyer in Catalog_Контрагенты
    until: datetime | None = None


def key_marker(external_key: str) -> str:
    """The bracketed key that ends the document's comment."""
    return f"[{external_key}]"


def marker_of(comment: str) -> str | None:
    """The external key of the bridge's marker that ends `comment`, or None when it does not end with one."""
    match = _MARKER_RE.search(comment.rstrip())
    return match[1] if match else None


def neutral(text: str) -> str:
    """User text as it may go into a comment: without square brackets it can never form a marker."""
    return text.translate(_NEUTRAL)


def search_since(attempt_started: int, zone: tzinfo | None, external_key: str, counterparty: str) -> KeySearch:
    """The search for an attempt that began at `attempt_started` (epoch seconds); `zone` is DocumentTimezone."""
    local = datetime.fromtimestamp(attempt_started, zone)
    return KeySearch(external_key, since=local.replace(tzinfo=None) - DATE_MARGIN, counterparty=counterparty)


def find_by_key(client: ODataClient, entity_set: str, search: KeySearch) -> OnecDocument | None:
    """The document whose marker is exactly `search.external_key`, among the few the narrow query returns."""
    condition = f"Date ge {datetime_literal(search.since)}"
    if search.until is not None:
        condition += f" and Date le {datetime_literal(search.until)}"
    rows = client.query(
        entity_set,
        filter=f"{condition} and Контрагент_Key eq {guid_literal(search.counterparty)} and DeletionMark eq false",
        select=DOCUMENT_FIELDS,
    )
    for row in rows:
        if marker_of(str(row.get("Комментарий") or "")) == search.external_key:
            return OnecDocument.model_validate(row)
    return None


def read_by_ref(client: ODataClient, entity_set: str, ref_key: str) -> OnecDocument | None:
    """The document the ledger knows, by its key; None when it was deleted or marked for deletion in 1C."""
    try:
        row = client.get(entity_set, ref_key, select=(*DOCUMENT_FIELDS, "DeletionMark"))
    except ODataError as exc:
        if exc.status == 404:
            return None
        raise
    return None if row.get("DeletionMark") is True else OnecDocument.model_validate(row)


def tax_invoice_search(sale: OnecDocument, external_key: str) -> KeySearch:
    """Where the tax invoice issued on `sale` is: the sale's buyer, dated from the sale's day to 5 days after."""
    day = datetime.fromisoformat(sale.date).replace(tzinfo=None)
    return KeySearch(
        external_key,
        since=day - DATE_MARGIN,
        counterparty=sale.counterparty,
        until=day + TAX_INVOICE_WINDOW + DATE_MARGIN,
    )
