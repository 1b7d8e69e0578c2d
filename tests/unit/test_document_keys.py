"""The marker that ties a 1C document to its deal: parsed exactly, and never formed by user text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoice_bridge.events import EntityType, external_key
from invoice_bridge.ledger.records import LedgerRecord, LedgerStatus
from invoice_bridge.onec.document_keys import (
    DATE_MARGIN,
    OnecDocument,
    key_marker,
    marker_of,
    neutral,
    search_since,
    tax_invoice_search,
)

MEMBER = "a223c6b3710f85df22e9377d6c4f7553"
OWN = external_key(MEMBER, EntityType.DEAL, 1001)
OTHER = external_key(MEMBER, EntityType.DEAL, 1002)


def spellings(member_id: str, deal_id: int) -> list[str]:
    """Every way a title can carry deal `deal_id`'s key: exact, other portals and entity types, spaces, case,
    leading zeros, doubled and lookalike brackets, Unicode digits and letters, no brackets at all."""
    key = f"b24:{member_id}:deal:{deal_id}"
    return [
        f"[{key}]",
        f"Счёт [{key}]",
        f"[{key}] and [{key}]",
        f"[{key}]\n",
        f"[{key}]\u00a0",
        f"[b24:0f0e0d0c0b0a:deal:{deal_id}]",
        f"[b24:{member_id}:invoice:{deal_id}]",
        f"[ {key} ]",
        f"[b24: {member_id} :deal: {deal_id}]",
        f"[B24:{member_id.upper()}:DEAL:{deal_id}]",
        f"[b24:{member_id}:deal:0{deal_id}]",
        f"[[{key}]]",
        f"[{key}]]",
        f"［{key}］",  # fullwidth brackets
        f"⟦{key}⟧",
        f"[b24:{member_id}:deal:{''.join(chr(0x0660 + int(d)) for d in str(deal_id))}]",  # Arabic-Indic digits
        f"[b24:{member_id}:dеal:{deal_id}]",  # Cyrillic «е»
        f"[ｂ24:{member_id}:deal:{deal_id}]",  # fullwidth «ｂ»
        key,
        f"{key}]",
        f"[{key}",
    ]


def comment(title: str, own: str = OWN) -> str:
    """The comment the bridge writes (documents._header): user text neutralised, its own marker last."""
    return f"Черновик из Bitrix24. Сделка «{neutral(title)}» https://{neutral('x.bitrix24.ru')}/ {key_marker(own)}"


def test_the_marker_ending_a_comment_is_its_key() -> None:
    assert marker_of(f"Черновик. Сделка «Поставка» {key_marker(OWN)}") == OWN
    assert marker_of(f"ОТОЗВАН: вышла из стадии. Черновик {key_marker(OWN)}  ") == OWN


@pytest.mark.parametrize(
    "text",
    [
        f"{key_marker(OWN)} edited by the accountant",  # not the final token
        f"x{key_marker(OWN)}"[:-1],
        "[b24:a223:deal:12]3",
        "no marker at all",
        "",
    ],
)
def test_a_comment_not_ending_with_a_marker_has_none(text: str) -> None:
    assert marker_of(text) is None


def test_a_key_is_never_a_prefix_or_suffix_match() -> None:
    assert marker_of(f"… {key_marker(external_key(MEMBER, EntityType.DEAL, 10011))}") != OWN
    assert marker_of(f"… {key_marker(external_key('x' + MEMBER, EntityType.DEAL, 1001))}") != OWN
    assert marker_of(f"… [b24:a[b24:{MEMBER}:deal:1001]") is None  # a member id may not carry brackets


@pytest.mark.parametrize("spelling", spellings(MEMBER, 1002))
def test_no_spelling_of_another_key_in_a_title_is_read_as_a_marker(spelling: str) -> None:
    assert marker_of(comment(spelling)) == OWN
    assert marker_of(neutral(spelling)) is None
    assert "[" not in neutral(spelling)
    assert "]" not in neutral(spelling)


@pytest.mark.parametrize("spelling", spellings(MEMBER, 1002)[5:])
def test_every_other_spelling_differs_from_the_key_it_imitates(spelling: str) -> None:
    assert marker_of(spelling) != OTHER


@given(st.text(), st.text())
def test_no_user_text_forms_a_marker(title: str, url: str) -> None:
    written = f"Черновик. Сделка «{neutral(title)}» {neutral(url)}"
    assert marker_of(written) is None
    assert marker_of(f"{written} {key_marker(OWN)}") == OWN


def test_the_search_starts_a_margin_before_the_attempt_in_document_time() -> None:
    moment = datetime(2026, 3, 1, 21, 30, tzinfo=UTC)  # 2 March 00:30 in Moscow
    search = search_since(int(moment.timestamp()), ZoneInfo("Europe/Moscow"), OWN, "counterparty")
    assert search.since == datetime(2026, 3, 2, 0, 30) - DATE_MARGIN
    assert search.since.tzinfo is None
    assert search.until is None


def test_a_tax_invoice_is_searched_around_its_sale_date() -> None:
    sale = OnecDocument.model_validate(
        {"Ref_Key": "k", "Date": "2026-03-02T10:00:00", "Контрагент_Key": "c", "Комментарий": key_marker(OWN)}
    )
    search = tax_invoice_search(sale, OWN)
    assert search.counterparty == "c"
    assert search.since == datetime(2026, 3, 1, 10, 0)
    assert search.until == datetime(2026, 3, 2, 10, 0) + timedelta(days=6)


@pytest.mark.parametrize(
    ("fields", "unknown"),
    [
        ({"status": LedgerStatus.RETRYING, "attempt_started_at": 500}, None),  # failed before any 1C write
        ({"status": LedgerStatus.RETRYING, "attempt_started_at": 500, "unknown_since": 400}, 400),
        ({"status": LedgerStatus.REJECTED, "attempt_started_at": 500, "unknown_since": 400}, 400),
        ({"status": LedgerStatus.IN_PROGRESS, "attempt_started_at": 500, "created_at": 100}, 500),  # crashed
        ({"status": LedgerStatus.RETRYING, "created_at": 100}, 100),  # released by the release before this one
        ({"status": LedgerStatus.REJECTED, "attempt_started_at": 500}, None),
    ],
)
def test_what_counts_as_an_unknown_outcome(fields: dict[str, object], unknown: int | None) -> None:
    assert LedgerRecord.model_validate({"pk": "k", **fields}).outcome_unknown_since() == unknown
