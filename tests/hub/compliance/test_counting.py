"""Compliance tallies from verdicts (pure) and the public API of the hub packages of this stage."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest

from hub.compliance import UNKNOWN_AGREEMENT, tally
from hub.gatekeeper import ItemQuality, Refusal, RejectedItem, Verdict

NOW = dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC)


def test_item_level_tally_counts_quality_and_lateness() -> None:
    quality = (
        ItemQuality("valid", 9, 9, False, 3600.0),
        ItemQuality("invalid", 9, 8, False, 30 * 86400.0),
        ItemQuality("absent", 3, 3, True, 0.0),
    )
    verdict = Verdict(
        "A-1",
        "m",
        accepted=({"reference_id": "1"},),  # type: ignore[arg-type]
        rejected=(
            RejectedItem("2", "CURP_CHECK_DIGIT", "x", "curp"),
            RejectedItem("3", "REQUIRED", "x", "nombre"),
        ),
        quality=quality,
        item_count=3,
    )
    counts = tally(verdict, now=NOW, sla_seconds=10 * 86400.0)
    assert counts.agreement_id == UNKNOWN_AGREEMENT  # no agreement attached to this verdict
    assert counts.period == "2026-06"
    c = counts.counters
    assert (c["items_received"], c["items_accepted"], c["items_rejected"]) == (3, 1, 2)
    assert (c["curp_present"], c["curp_valid"]) == (2, 1)
    assert (c["required_expected"], c["required_present"]) == (21, 20)
    assert (c["duplicates"], c["late_items"]) == (1, 1)
    assert counts.item_rejections == {"CURP_CHECK_DIGIT": 1, "REQUIRED": 1}
    assert counts.last_lag_seconds == 30 * 86400.0


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


def test_a_set_without_accepted_items_is_no_delivery_but_its_lag_is_measured() -> None:
    verdict = Verdict(
        "A-1",
        "m",
        authenticated=True,
        rejected=(RejectedItem("1", "REQUIRED", "x", "nombre"),),
        quality=(ItemQuality("valid", 9, 8, False, 7200.0),),
        item_count=1,
    )
    counts = tally(verdict, now=NOW, sla_seconds=3600.0)
    assert not counts.accepted and counts.delivered_at is None
    assert counts.last_lag_seconds == 7200.0 and counts.counters["late_items"] == 1


@pytest.mark.parametrize(
    "module", ["hub.gatekeeper", "hub.quarantine", "hub.compliance", "hub.worker"]
)
def test_exported_members_exist(module: str) -> None:
    package = importlib.import_module(module)
    missing = [name for name in package.__all__ if not hasattr(package, name)]
    assert missing == []
    assert package.__all__ == sorted(package.__all__, key=lambda n: (not n.isupper(), n))
