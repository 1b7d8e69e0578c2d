"""A small soak on the template's retry settings, clock x40: random faults per request, a 5-minute Bitrix24 outage
and a 5-minute 1C outage (each longer than the old design's whole 150 s backoff window), crashes between the 1C
create and the ledger write, duplicate deliveries; then every deal accounted for (`make soak` runs 1000)."""

from __future__ import annotations

import re
from pathlib import Path

from local.runners.soak import run_soak

LINE = re.compile(
    r"soak: (?P<N>\d+) deals, created (?P<C>\d+), rejected (?P<R>\d+), dead-lettered (?P<D>\d+), "
    r"duplicated (?P<P>\d+), lost (?P<L>\d+), faults (?P<F>\d+), seed (?P<S>\d+)"
)


def test_a_small_soak_accounts_for_every_deal_and_ends_with_the_summary_line(tmp_path: Path) -> None:
    fates = tmp_path / "fates.tsv"
    report = run_soak(
        40, seed=11, time_factor=40, outage_seconds=300, crash_rate=0.05, max_real_seconds=90, fates_path=fates
    )

    last = report.render().splitlines()[-1]
    match = LINE.fullmatch(last)
    assert match is not None, last
    counts = {name: int(value) for name, value in match.groupdict().items()}
    assert counts == {
        "N": 40,
        "C": report.created,
        "R": report.rejected,
        "D": report.dead_lettered,
        "P": report.duplicated,
        "L": report.lost,
        "F": sum(report.faults.values()),
        "S": 11,
    }
    assert report.faults["Bitrix24 outage: 502"] > 0
    assert report.faults["1C outage: 503"] > 0
    assert counts["D"] == 0  # the outages pass well within what the retries survive
    assert counts["P"] == 0
    assert counts["L"] == 0
    assert counts["C"] + counts["R"] == 40
    assert report.ok
    assert counts["C"] > 0
    assert counts["R"] > 0
    rows = fates.read_text(encoding="utf-8").splitlines()[1:]
    assert sorted(int(row.split("\t")[0]) for row in rows) == list(range(50001, 50041))
