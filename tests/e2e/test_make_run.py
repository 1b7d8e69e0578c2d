"""`make run ONCE=1` in-process: the replay of events/ must bring every sample deal to its expected outcome."""

from __future__ import annotations

import pytest

from local.run import main


def test_replay_reaches_every_expected_outcome(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--once"]) == 0
    output = capsys.readouterr().out
    assert "Every sample deal reached its expected outcome." in output
    assert "1C БС00-000001: sum 514000.00, VAT 68545.45" in output
    assert "7707083894 has a wrong check digit" in output
