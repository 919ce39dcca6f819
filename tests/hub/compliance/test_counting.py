"""Compliance tallies from verdicts (pure) and the public API of the hub packages of this stage."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

import pytest

from hub.compliance import UNKNOWN_AGREEMENT, tally
from hub.compliance.counting import CLOCK_TOLERANCE_SECONDS, reception_lags
from hub.gatekeeper import ItemQuality, Refusal, RejectedItem, Verdict

NOW = dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC)


def _accepted(ref: str, effective: dt.date) -> dict[str, Any]:
    return {"reference_id": ref, "effective_date": effective}


def _header(sent_at: dt.datetime) -> dict[str, Any]:
    return {"transaction_id": "t", "sent_at": sent_at}


def test_item_level_tally_counts_quality_and_lateness() -> None:
    # the agency's own lag claims (quality) say nothing of lateness: the hub's clock does
    quality = (
        ItemQuality("valid", 9, 9, False, 0.0),
        ItemQuality("valid", 9, 9, False, 0.0),
        ItemQuality("invalid", 9, 8, False, 0.0),
        ItemQuality("absent", 3, 3, True, 0.0),
    )
    verdict = Verdict(
        "A-1",
        "m",
        header=_header(NOW),  # type: ignore[arg-type]
        accepted=(
            _accepted("1", dt.date(2026, 6, 14)),  # 30 h before NOW (from 00:00 UTC-06:00)
            _accepted("4", dt.date(2026, 5, 1)),  # 45 days: late
        ),  # type: ignore[arg-type]
        rejected=(
            RejectedItem("2", "CURP_CHECK_DIGIT", "x", "curp"),
            RejectedItem("3", "REQUIRED", "x", "nombre"),
        ),
        quality=quality,
        item_count=4,
    )
    counts = tally(verdict, now=NOW, sla_seconds=10 * 86400.0)
    assert counts.agreement_id == UNKNOWN_AGREEMENT  # no agreement attached to this verdict
    assert counts.period == "2026-06"
    c = counts.counters
    assert (c["items_received"], c["items_accepted"], c["items_rejected"]) == (4, 2, 2)
    assert (c["curp_present"], c["curp_valid"]) == (3, 2)
    assert (c["required_expected"], c["required_present"]) == (30, 29)
    assert (c["duplicates"], c["late_items"]) == (1, 1)
    assert counts.item_rejections == {"CURP_CHECK_DIGIT": 1, "REQUIRED": 1}
    start = dt.datetime(2026, 5, 1, 6, tzinfo=dt.UTC)
    assert counts.last_lag_seconds == (NOW - start).total_seconds()
    assert counts.clock_ahead_seconds is None


def test_the_lag_is_the_hubs_whatever_sent_at_says() -> None:
    """A backdated sent_at does not make an item on time; a future one makes no negative lag."""
    effective = dt.date(2026, 6, 1)
    lags = []
    for sent_at in (dt.datetime(2026, 6, 1, 7, tzinfo=dt.UTC), NOW + dt.timedelta(days=400)):
        verdict = Verdict(
            "A-1",
            "m",
            header=_header(sent_at),  # type: ignore[arg-type]
            accepted=(_accepted("1", effective),),  # type: ignore[arg-type]
            quality=(ItemQuality("valid", 9, 9, False, 0.0),),
            item_count=1,
        )
        counts = tally(verdict, now=NOW, sla_seconds=7 * 86400.0)
        assert counts.counters["late_items"] == 1  # 14.25 days after the fact, SLA 7 days
        lags.append(counts.last_lag_seconds)
    assert lags == [(NOW - dt.datetime(2026, 6, 1, 6, tzinfo=dt.UTC)).total_seconds()] * 2
    assert reception_lags([_accepted("9", dt.date(2026, 7, 1))], NOW) == [0.0]  # still to come


def test_a_sent_at_ahead_of_the_hubs_clock_is_reported_beyond_the_tolerance() -> None:
    def ahead(sent_at: dt.datetime, **extra: Any) -> float | None:
        verdict = Verdict("A-1", "m", header=_header(sent_at), **extra)  # type: ignore[arg-type]
        return tally(verdict, now=NOW, sla_seconds=None).clock_ahead_seconds

    tolerance = dt.timedelta(seconds=CLOCK_TOLERANCE_SECONDS)
    assert ahead(NOW + tolerance) is None  # within the tolerance: two honest clocks
    assert ahead(NOW - dt.timedelta(days=3)) is None  # behind: late, not skewed
    assert ahead(NOW + dt.timedelta(hours=6)) == 6 * 3600.0
    naive = (NOW + dt.timedelta(days=1)).replace(tzinfo=None)  # naive: UTC
    assert ahead(naive) == 86400.0
    # a change set refused as a whole after authentication still tells the agency's clock
    refused = Refusal("CONVENIO_NO_VIGENTE", "x")
    assert ahead(NOW + dt.timedelta(hours=1), refusal=refused, authenticated=True) == 3600.0


def test_unauthenticated_refusal_counts_apart_from_the_agreement_it_claims() -> None:
    verdict = Verdict("A-1", "m", refusal=Refusal("FIRMA_INVALIDA", "x"), item_count=0)
    counts = tally(verdict, now=NOW, sla_seconds=None)
    assert counts.counters == {}  # nothing of the agreement's own figures
    assert counts.unverified_rejections == {"FIRMA_INVALIDA": 1}
    assert counts.message_rejections == {} and counts.item_rejections == {}
    assert counts.transaction_id is None and counts.delivered_at is None


def test_a_replay_counts_for_the_hub_only() -> None:
    verdict = Verdict("A-1", "m", authenticated=True, item_count=7)
    counts = tally(verdict, now=NOW, sla_seconds=None, replay=True)
    assert counts.counters == {"replays": 1, "replayed_items": 7}
    assert counts.message_rejections == {} and counts.item_rejections == {}
    assert counts.transaction_id is None and counts.delivered_at is None


def test_a_set_without_accepted_items_is_no_delivery_and_measures_no_lag() -> None:
    verdict = Verdict(
        "A-1",
        "m",
        authenticated=True,
        header=_header(NOW),  # type: ignore[arg-type]
        rejected=(RejectedItem("1", "REQUIRED", "x", "nombre"),),
        quality=(ItemQuality("valid", 9, 8, False, 7200.0),),
        item_count=1,
    )
    counts = tally(verdict, now=NOW, sla_seconds=3600.0)
    assert not counts.accepted and counts.delivered_at is None
    # a rejected item is measured when it comes again corrected and is accepted
    assert counts.last_lag_seconds is None and counts.counters["late_items"] == 0


@pytest.mark.parametrize(
    "module", ["hub.gatekeeper", "hub.quarantine", "hub.compliance", "hub.worker"]
)
def test_exported_members_exist(module: str) -> None:
    package = importlib.import_module(module)
    missing = [name for name in package.__all__ if not hasattr(package, name)]
    assert missing == []
    assert package.__all__ == sorted(package.__all__, key=lambda n: (not n.isupper(), n))
