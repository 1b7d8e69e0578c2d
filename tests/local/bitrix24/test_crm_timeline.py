"""crm.timeline.comment.add."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from local.bitrix24.sandbox import Bitrix24Sandbox
from local.bitrix24.store import TimelineComment
from tests.local.bitrix24.calls import TIMEOUT, call


def test_timeline_comment_is_stored(sandbox: Bitrix24Sandbox) -> None:
    fields = {"ENTITY_ID": 1001, "ENTITY_TYPE": "deal", "COMMENT": "Счёт БС-000123 создан в 1С"}
    first = call(sandbox, "crm.timeline.comment.add", {"fields": fields}).json()["result"]
    second = requests.post(
        sandbox.webhook_url + "crm.timeline.comment.add",
        data={"fields[ENTITY_ID]": "1003", "fields[ENTITY_TYPE]": "deal", "fields[COMMENT]": "ok"},
        timeout=TIMEOUT,
    ).json()["result"]
    assert isinstance(first, int)
    assert second == first + 1
    assert sandbox.timeline_comments == [
        TimelineComment(first, "deal", 1001, "Счёт БС-000123 создан в 1С"),
        TimelineComment(second, "deal", 1003, "ok"),
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"fields": {"ENTITY_ID": 1001, "ENTITY_TYPE": "deal"}},
        {"fields": {"ENTITY_TYPE": "deal", "COMMENT": "x"}},
        {"FIELDS": {"ENTITY_ID": 1001, "ENTITY_TYPE": "deal", "COMMENT": "x"}},
    ],
)
def test_timeline_comment_rejects_missing_fields(sandbox: Bitrix24Sandbox, params: dict[str, Any]) -> None:
    response = call(sandbox, "crm.timeline.comment.add", params)
    assert response.status_code == 400
    assert set(response.json()) == {"error", "error_description"}
    assert sandbox.timeline_comments == []


@pytest.mark.parametrize("entity_type", ["smart_invoice", "dynamic_31"])
def test_timeline_comment_on_a_smart_invoice(sandbox: Bitrix24Sandbox, entity_type: str) -> None:
    fields = {"ENTITY_ID": 501, "ENTITY_TYPE": entity_type, "COMMENT": "Счёт создан в 1С"}
    comment_id = call(sandbox, "crm.timeline.comment.add", {"fields": fields}).json()["result"]
    assert sandbox.timeline_comments == [TimelineComment(comment_id, entity_type, 501, "Счёт создан в 1С")]
    missing = call(sandbox, "crm.timeline.comment.add", {"fields": {**fields, "ENTITY_ID": 999}})
    assert missing.status_code == 400
    assert len(sandbox.timeline_comments) == 1
