"""A small soak: duplicates and random faults on both sides, then every deal accounted for (`make soak` runs
the full 1000)."""

from __future__ import annotations

from local.soak import run_soak


def test_every_deal_is_created_rejected_or_dead_lettered_and_none_twice() -> None:
    report = run_soak(60, duplicate_share=0.2, fault_every=0.5, seed=11)
    assert report.faults > 0
    assert report.unaccounted == 0
    assert report.duplicated == 0
    assert report.created + report.rejected + report.dead_lettered == report.deals
