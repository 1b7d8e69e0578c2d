"""Through the real handlers: form-encoded webhook → receiver → SQS (moto) → processor → 1C sandbox."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from urllib.parse import urlencode

import requests

from invoice_bridge.ledger.deals import Ledger
from invoice_bridge.ledger.records import LedgerStatus
from local.bitrix24.sandbox import Bitrix24Sandbox
from local.seed import APPLICATION_TOKEN, DEALS, PORTAL_DOMAIN, PORTAL_MEMBER_ID
from local.stack import LocalStack
from local.webhooks import FORM_HEADERS, webhook_body

FORM = FORM_HEADERS


def webhook(deal_id: int, *, event: str = "ONCRMDEALUPDATE", token: str = APPLICATION_TOKEN) -> bytes:
    return webhook_body(deal_id, event=event, token=token)


def post(stack: LocalStack, body: bytes) -> requests.Response:
    return requests.post(stack.webhook_url, data=body, headers=FORM, timeout=10)


def drain(stack: LocalStack, rounds: int = 20) -> None:
    for _ in range(rounds):
        if stack.queued_messages() == 0:
            return
        stack.event_source.poll_once(wait_seconds=1)
    raise AssertionError("the queue did not drain")


def drafts_for(stack: LocalStack, deal_id: int) -> list[dict[str, object]]:
    marker = f"[b24:{PORTAL_MEMBER_ID}:deal:{deal_id}]"
    return [doc for doc in stack.onec.documents() if marker in str(doc["Комментарий"])]


def test_won_deal_becomes_one_draft_with_per_line_vat(stack: LocalStack) -> None:
    assert post(stack, webhook(1001)).status_code == 200
    drain(stack)

    [draft] = drafts_for(stack, 1001)
    assert draft["Posted"] is False
    assert draft["СуммаВключаетНДС"] is True
    lines = [
        (row["LineNumber"], row["Количество"], row["Цена"], row["Сумма"], row["СтавкаНДС"], row["СуммаНДС"])
        for row in draft["Товары"]  # type: ignore[attr-defined]
    ]
    assert lines == [
        ("1", Decimal(2), Decimal("122000"), Decimal("244000"), "НДС22", Decimal("44000")),
        ("2", Decimal(3), Decimal("90000"), Decimal("270000"), "НДС10", Decimal("24545.45")),
    ]
    assert draft["СуммаДокумента"] == Decimal("514000")
    assert str(draft["Комментарий"]).startswith("Черновик из Bitrix24, ожидает проверки бухгалтером. Сделка «")
    [comment] = stack.bitrix.timeline_comments
    assert comment.entity_id == 1001
    assert str(draft["Number"]) in comment.comment


def test_the_same_webhook_again_and_ten_copies_leave_one_draft(stack: LocalStack) -> None:
    post(stack, webhook(1001))
    drain(stack)
    post(stack, webhook(1001))
    drain(stack)
    for _ in range(10):
        post(stack, webhook(1001, event="ONCRMDEALADD"))
    drain(stack)

    assert len(drafts_for(stack, 1001)) == 1
    assert len(stack.bitrix.timeline_comments) == 1


def test_ten_copies_in_one_batch_leave_one_draft(stack: LocalStack) -> None:
    for _ in range(10):
        post(stack, webhook(1003))
    drain(stack)

    [draft] = drafts_for(stack, 1003)
    # tax on top in Bitrix24: the draft says so and carries net amounts, VAT per line
    assert draft["СуммаВключаетНДС"] is False
    assert [(row["Сумма"], row["СуммаНДС"]) for row in draft["Товары"]] == [  # type: ignore[attr-defined]
        (Decimal("3000"), Decimal("660")),
        (Decimal("90000"), Decimal("19800")),
    ]
    assert draft["СуммаДокумента"] == Decimal("113460")


def test_wrong_token_is_401_and_nothing_is_queued(stack: LocalStack) -> None:
    response = post(stack, webhook(1001, token="forged-token"))
    assert response.status_code == 401
    assert "application_token" in response.json()["error"]
    assert stack.queued_messages() == 0


def test_missing_token_is_401(stack: LocalStack) -> None:
    body = urlencode({"event": "ONCRMDEALUPDATE", "data[FIELDS][ID]": "1001", "ts": "1"}).encode()
    assert post(stack, body).status_code == 401
    assert stack.queued_messages() == 0


def test_unhandled_event_is_200_and_nothing_is_queued(stack: LocalStack) -> None:
    response = post(stack, webhook(134806, event="ONCRMCONTACTADD"))
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert stack.queued_messages() == 0


def test_malformed_and_oversized_bodies(stack: LocalStack) -> None:
    malformed = post(stack, b"event=ONCRMDEALUPDATE&data[FIELDS=1")
    assert malformed.status_code == 400
    assert "malformed key" in malformed.json()["error"]
    oversized = post(stack, webhook(1001) + b"&pad=" + b"x" * 20000)
    assert oversized.status_code == 413
    assert stack.queued_messages() == 0


def test_broken_inn_is_rejected_with_one_comment_and_nothing_in_1c(stack: LocalStack) -> None:
    post(stack, webhook(1005))
    drain(stack)
    post(stack, webhook(1005))
    drain(stack)

    assert drafts_for(stack, 1005) == []
    [comment] = stack.bitrix.timeline_comments
    assert "7707083894" in comment.comment
    assert "неверная контрольная цифра" in comment.comment


def test_deal_outside_the_trigger_creates_nothing(stack: LocalStack) -> None:
    post(stack, webhook(1004))
    drain(stack)
    assert drafts_for(stack, 1004) == []
    assert stack.bitrix.timeline_comments == []


def test_1c_outage_is_retried_and_creates_once(stack: LocalStack) -> None:
    stack.onec.fail_next(3, status=503, code="-1", message="Сервис временно недоступен")
    post(stack, webhook(1002))
    drain(stack)
    assert len(drafts_for(stack, 1002)) == 1


def test_lost_answer_after_1c_stored_the_draft_does_not_create_a_second(stack: LocalStack) -> None:
    stack.onec.fail_next(1, status=504, code="-1", message="Gateway Timeout", after_write=True, http_method="POST")
    post(stack, webhook(1001))
    drain(stack)
    assert len(drafts_for(stack, 1001)) == 1
    posts = [entry for entry in stack.onec.request_log if entry.method == "POST"]
    assert [entry.status for entry in posts] == [504]  # the retry found the stored draft instead of posting


def test_amount_changed_after_the_draft_updates_the_same_document(stack: LocalStack) -> None:
    post(stack, webhook(1001))
    drain(stack)
    [before] = drafts_for(stack, 1001)
    deal = next(d for d in DEALS if d.id == 1001)
    stack.bitrix.set_deal(
        dataclasses.replace(deal, rows=deal.rows[:1], opportunity=Decimal("244000.00"), tax_value=Decimal("44000.00"))
    )
    post(stack, webhook(1001))
    drain(stack)

    [after] = drafts_for(stack, 1001)
    assert after["Ref_Key"] == before["Ref_Key"]
    assert after["СуммаДокумента"] == Decimal("244000")
    assert len(after["Товары"]) == 1  # type: ignore[arg-type]
    comments = [c.comment for c in stack.bitrix.timeline_comments]
    assert len(comments) == 2
    assert comments[1].startswith("Сделка изменилась — в 1С обновлён черновик [B]Счёт на оплату покупателю № ")
    assert "[*]Сумма: [B]244\u00a0000,00\u00a0₽[/B]" in comments[1]


def test_change_after_posting_leaves_1c_alone_and_tells_the_manager_once(stack: LocalStack) -> None:
    post(stack, webhook(1001))
    drain(stack)
    [draft] = drafts_for(stack, 1001)
    stack.onec.post_document("Document_СчетНаОплатуПокупателю", str(draft["Ref_Key"]))
    deal = next(d for d in DEALS if d.id == 1001)
    stack.bitrix.set_deal(
        dataclasses.replace(deal, rows=deal.rows[:1], opportunity=Decimal("244000.00"), tax_value=Decimal("44000.00"))
    )
    for _ in range(3):
        post(stack, webhook(1001))
        drain(stack)

    [after] = drafts_for(stack, 1001)
    assert after["СуммаДокумента"] == Decimal("514000")
    assert after["Posted"] is True
    told = [c.comment for c in stack.bitrix.timeline_comments if "после того, как документ" in c.comment]
    assert len(told) == 1
    assert stack.resources is not None
    record = Ledger(stack.dynamodb, stack.resources.table_name).get(f"{PORTAL_MEMBER_ID}#deal#1001")
    assert record is not None
    assert record.status is LedgerStatus.CHANGED_AFTER_POSTING


def test_deal_lost_after_its_draft_marks_the_draft_withdrawn(stack: LocalStack) -> None:
    post(stack, webhook(1001))
    drain(stack)
    deal = next(d for d in DEALS if d.id == 1001)
    stack.bitrix.set_deal(dataclasses.replace(deal, stage_id="LOSE", stage_semantic_id="F"))
    post(stack, webhook(1001))
    drain(stack)
    post(stack, webhook(1001))
    drain(stack)

    [draft] = drafts_for(stack, 1001)
    assert str(draft["Комментарий"]).startswith("ОТОЗВАН")
    withdrawn = [c.comment for c in stack.bitrix.timeline_comments if "из стадии выставления счёта" in c.comment]
    assert len(withdrawn) == 1


def test_new_invoice_becomes_a_draft_and_its_timeline_is_told(stack: LocalStack) -> None:
    body = urlencode(
        {
            "event": "ONCRMDYNAMICITEMUPDATE",
            "data[FIELDS][ID]": "501",
            "data[FIELDS][ENTITY_TYPE_ID]": "31",
            "ts": "1795428000",
            "auth[domain]": PORTAL_DOMAIN,
            "auth[member_id]": PORTAL_MEMBER_ID,
            "auth[application_token]": APPLICATION_TOKEN,
        }
    ).encode()
    post(stack, body)
    drain(stack)

    marker = f"[b24:{PORTAL_MEMBER_ID}:invoice:501]"
    [draft] = [doc for doc in stack.onec.documents() if marker in str(doc["Комментарий"])]
    assert draft["СуммаДокумента"] == Decimal("122000")
    [comment] = stack.bitrix.timeline_comments
    assert (comment.entity_type, comment.entity_id) == ("smart_invoice", 501)


def test_write_back_field_gets_the_number_and_its_update_event_changes_nothing() -> None:
    stack = LocalStack(parameter_overrides={"WriteBackField": "UF_CRM_1C_INVOICE"}).start(poll=False)
    try:
        post(stack, webhook(1001))
        drain(stack)
        [update] = stack.bitrix.deal_updates
        [draft] = drafts_for(stack, 1001)
        assert update.fields == {"UF_CRM_1C_INVOICE": draft["Number"]}
        # Bitrix24 fires ONCRMDEALUPDATE for our own update: it must create no work and no second comment.
        post(stack, webhook(1001))
        drain(stack)
        assert len(drafts_for(stack, 1001)) == 1
        assert len(stack.bitrix.timeline_comments) == 1
        assert len(stack.bitrix.deal_updates) == 1
    finally:
        stack.stop()


def test_a_burst_past_the_rate_limit_is_retried_until_every_deal_has_one_draft() -> None:
    stack = LocalStack(bitrix=Bitrix24Sandbox(drain_per_second=20.0, burst=1)).start(poll=False)
    try:
        template = next(deal for deal in DEALS if deal.id == 1001)
        deal_ids = list(range(30001, 30041))
        for deal_id in deal_ids:
            stack.bitrix.set_deal(dataclasses.replace(template, id=deal_id))
        for deal_id in deal_ids:
            post(stack, webhook(deal_id))
        drain(stack, rounds=120)  # a liveness bound: drain returns once the queue is empty; 40 rounds flaked under load

        assert all(len(drafts_for(stack, deal_id)) == 1 for deal_id in deal_ids)
        statuses = [entry.status for entry in stack.bitrix.request_log]
        assert 503 in statuses  # the portal did push back
        assert statuses[-1] == 200
    finally:
        stack.stop()


def test_free_text_row_reaches_1c_as_a_service_line(stack: LocalStack) -> None:
    deal = next(d for d in DEALS if d.id == 1001)
    delivery = dataclasses.replace(
        deal.rows[0],
        id=5999,
        product_id=0,
        product_name="Доставка до склада покупателя",
        price=Decimal("1220.00"),
        quantity=Decimal("1"),
    )
    stack.bitrix.set_deal(
        dataclasses.replace(
            deal, rows=(*deal.rows, delivery), opportunity=Decimal("515220.00"), tax_value=Decimal("68765.45")
        )
    )
    post(stack, webhook(1001))
    drain(stack)

    [draft] = drafts_for(stack, 1001)
    service = draft["Товары"][2]  # type: ignore[index]
    assert service["Содержание"] == "Доставка до склада покупателя"
    assert (service["Сумма"], service["СуммаНДС"], service["СтавкаНДС"]) == (Decimal("1220"), Decimal("220"), "НДС22")
    assert draft["СуммаДокумента"] == Decimal("515220")


def test_won_deal_whose_webhook_was_dropped_is_created_by_the_reconciler(stack: LocalStack) -> None:
    post(stack, webhook(1001))  # 1001 gets its ledger record now
    drain(stack)
    template = next(deal for deal in DEALS if deal.id == 1001)
    stack.bitrix.set_deal(dataclasses.replace(template, id=40001, title="Webhook lost"))  # no webhook for it

    report = stack.run_reconciler()
    drain(stack)

    assert report["queued"] == 1  # 1001 is in the ledger since its change; the seed's old deals are too old
    assert len(drafts_for(stack, 40001)) == 1
    assert len(drafts_for(stack, 1001)) == 1
    again = stack.run_reconciler()
    assert again["queued"] == 0


def test_a_timeline_comment_blocked_for_a_while_is_delivered_later(stack: LocalStack) -> None:
    stack.bitrix.block_method("crm.timeline.comment.add", 2.0)
    post(stack, webhook(1001))
    drain(stack, rounds=40)

    assert len(drafts_for(stack, 1001)) == 1
    [comment] = stack.bitrix.timeline_comments
    assert comment.entity_id == 1001
    assert comment.comment.startswith("В 1С создан черновик [B]Счёт на оплату покупателю № ")
    refused = [entry for entry in stack.bitrix.request_log if entry.batch_errors]
    assert refused  # the first attempt was refused with OPERATION_TIME_LIMIT and came back on its own
