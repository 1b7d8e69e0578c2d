"""Values from Bitrix24 cannot change a 1C query: the sandbox receives exactly the value meant."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from invoice_bridge.onec.client import ODataClient
from invoice_bridge.onec.literals import string_literal
from local.onec.sandbox import OnecSandbox
from local.seed import ONEC_PASSWORD, ONEC_USERNAME

HOSTILE = [
    "O'Brien & Sons",
    "x') or (1 eq 1",
    "' or ИНН ne '",
    "Ромашка #1 (филиал)",
    "a+b=c?d&e=f",
    "кавычки '' двойные",
    "длинное " * 40,
]


@pytest.fixture(scope="module")
def onec() -> Iterator[tuple[OnecSandbox, ODataClient]]:
    with OnecSandbox() as sandbox:
        yield sandbox, ODataClient(sandbox.url, username=ONEC_USERNAME, password=ONEC_PASSWORD, timeout=5)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_value_is_one_string_literal(onec: tuple[OnecSandbox, ODataClient], value: str) -> None:
    sandbox, client = onec
    created = client.create(
        "Catalog_Контрагенты",
        {"Description": value[:100], "ЮридическоеФизическоеЛицо": "ЮридическоеЛицо", "ИНН": "", "КПП": ""},
    )
    sandbox.reset_log()
    rows = client.query(
        "Catalog_Контрагенты", filter=f"Description eq {string_literal(value[:100])}", select=("Ref_Key",)
    )

    assert [row["Ref_Key"] for row in rows] == [created["Ref_Key"]]  # exactly the one, never all of them
    [entry] = sandbox.request_log
    assert entry.query["$filter"] == f"Description eq {string_literal(value[:100])}"
