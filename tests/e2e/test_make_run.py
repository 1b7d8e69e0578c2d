"""`make run ONCE=1` in-process: the replay of events/ must bring every sample deal to its expected outcome."""

from __future__ import annotations

import pytest

from local.runners.run import main


def test_replay_reaches_every_expected_outcome(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--once"]) == 0
    output = capsys.readouterr().out
    assert "Every sample deal reached its expected outcome." in output
    assert "1C БС00-000001: Ромашка ООО, sum 514000.00, VAT 68545.45" in output
    # portal B's deal 1001 shares portal A's id: its own document, buyer and amount, under its own key
    b_1001 = next(
        line for line in output.splitlines() if line.startswith("second.bitrix24.test") and "deal 1001" in line
    )
    assert "b24:9c2e7a1d…:deal:1001" in b_1001
    assert "Вектор АО, sum 366000.00, VAT 66000.00" in b_1001
    assert "7707083894 has a wrong check digit" in output
    # the loop back: deal 1001 paid in two payments, deal 1003 paid in part, each told in the timeline
    table = output.split("what Bitrix24 was told", 1)[1].split("\n\n", 1)[0]
    rows = {line.split()[2]: line for line in table.splitlines() if line.startswith("sandbox.bitrix24.test  deal")}
    assert " paid " in rows["1001"]
    assert "yes posted, paid 514 000,00 ₽ in 2 payment(s); 2 comment(s)" in rows["1001"].replace("\u00a0", " ")
    assert " partly_paid " in rows["1003"]
    assert " оплачен полностью: 514\u00a0000,00\u00a0₽ из 514\u00a0000,00\u00a0₽ (платёж № " in output
    assert "[B]" not in output  # BB-code shown as a manager reads it
    # the comments as managers read them: Russian by default
    assert "Комментарии в таймлайнах Bitrix24" in output
    assert "В 1С создан черновик Счёт на оплату покупателю № БС00-000001 от " in output
    assert "  • Покупатель: ООО «Ромашка»" in output
    assert "Черновик счёта в 1С не создан. Исправьте и сохраните сделку ещё раз:" in output
    assert "«7707083894» — неверная контрольная цифра" in output


def test_replay_with_posting_posts_every_sample_invoice(capsys: pytest.CaptureFixture[str]) -> None:
    """`make run ONCE=1 POST=1` (OnecPostDocuments=true): BP's posting checks pass for every created document."""
    assert main(["--once", "--post"]) == 0
    output = capsys.readouterr().out
    assert "Every sample deal reached its expected outcome." in output
    outcomes = output.split("what Bitrix24 was told", 1)[0]
    created = [line for line in outcomes.splitlines() if " created " in line]
    assert len(created) == 7
    assert all(line.endswith(", posted") for line in created)
