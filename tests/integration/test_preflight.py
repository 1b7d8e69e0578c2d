"""Pre-flight through the real handlers: a deal entering a stage before the trigger is checked as the trigger
would check it, 1C looked up but never written, and the manager told once per content."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.stack import LocalStack
from tests.integration.test_bad_input_and_isolation import (
    comments_for,
    copy_of_1001,
    drafts_for,
    ledger,
    one_invocation,
    post,
)

PREFLIGHT = "PREPARATION"  # «Подготовка документов» in the sandbox's funnel


@pytest.fixture
def preflight_stack() -> Iterator[LocalStack]:
    local = LocalStack(parameter_overrides={"PreflightStageIds": PREFLIGHT}).start(poll=False)
    try:
        yield local
    finally:
        local.stop()


def _writes_to_1c(stack: LocalStack) -> list[str]:
    return [f"{e.method} {e.entity_set}" for e in stack.onec.request_log if e.method not in ("GET", "HEAD")]


def test_a_ready_deal_is_told_so_once_and_nothing_is_written(preflight_stack: LocalStack) -> None:
    stack = preflight_stack
    stack.bitrix.set_deal(copy_of_1001(6001, stage_id=PREFLIGHT, stage_semantic_id="P"))
    for _ in range(2):  # saved twice with the same content: told once
        post(stack, 6001)
        one_invocation(stack, 1)

    [comment] = comments_for(stack, 6001)
    assert comment.startswith("[B]Проверка перед выставлением счёта пройдена[/B] — всё готово.\n[LIST]\n")
    assert "[*]Сумма: [B]514\u00a0000,00\u00a0₽[/B]" in comment
    assert "Переведите сделку на стадию выставления счёта" in comment
    assert _writes_to_1c(stack) == []
    assert drafts_for(stack, 6001) == []
    assert ledger(stack, 6001) is None  # the deal's own ledger item is the trigger's alone


def test_what_1c_lacks_is_listed_before_the_stage_moves(preflight_stack: LocalStack) -> None:
    stack = preflight_stack
    stack.bitrix.set_deal(copy_of_1001(6002, stage_id=PREFLIGHT, stage_semantic_id="P"))
    post(stack, 6002)
    one_invocation(stack, 1)
    stack.bitrix.set_raw_fields("requisite", 21, {"RQ_INN": "7727563778", "RQ_KPP": "772701001"})  # not in 1C
    post(stack, 6002)
    one_invocation(stack, 1)

    ready, problems = comments_for(stack, 6002)
    assert ready.startswith("[B]Проверка перед выставлением счёта пройдена[/B]")
    assert problems.startswith("[B]Проверка перед выставлением счёта: исправьте 1 замечание[/B]\n[LIST=1]\n")
    assert "[*]В 1С нет контрагента с ИНН 7727563778 и КПП 772701001" in problems
    assert problems.endswith("Сохраните сделку — проверка повторится.")
    assert _writes_to_1c(stack) == []


def test_validation_problems_are_listed_and_the_trigger_still_decides(preflight_stack: LocalStack) -> None:
    stack = preflight_stack
    stack.bitrix.set_deal(copy_of_1001(6003, stage_id=PREFLIGHT, stage_semantic_id="P"))
    stack.bitrix.set_raw_fields("deal", 6003, {"OPPORTUNITY": "514000,00"})
    post(stack, 6003)
    one_invocation(stack, 1)
    [problems] = comments_for(stack, 6003)
    assert "[*]Сделка, поле «Сумма» (OPPORTUNITY): значение «514000,00» — не число (запятая вместо точки?)" in problems

    stack.bitrix.set_raw_fields("deal", 6003, {"OPPORTUNITY": "514000.00"})
    stack.bitrix.set_deal(copy_of_1001(6003))  # fixed and moved on to the trigger stage
    post(stack, 6003)
    one_invocation(stack, 1)
    assert len(drafts_for(stack, 6003)) == 1
    created = comments_for(stack, 6003)[-1]
    assert created.startswith("В 1С создан черновик [B]Счёт на оплату покупателю № ")
