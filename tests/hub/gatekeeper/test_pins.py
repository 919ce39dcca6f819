"""A contract version's pin is the first fingerprint the audit log recorded for it (pure)."""

from __future__ import annotations

from hub.gatekeeper.pins import first_fingerprints

S = "mx.gob.sisi.padron.ChangeSet"


def _entry(sequence: int, version: object, digest: str, subject: str = S) -> tuple[int, dict]:
    return sequence, {"subject": subject, "version": str(version), "sha256": digest}


def test_the_earliest_entry_of_a_version_is_its_pin_whatever_the_order_read() -> None:
    entries = [
        _entry(9, 2, "b"),  # the number given again to another schema: never the pin
        _entry(3, 2, "a"),
        _entry(4, 1, "c"),
        _entry(5, 1, "c"),  # the same schema recorded again: no change
        _entry(6, 1, "a", subject="otro"),
    ]
    assert first_fingerprints(entries) == {(S, 2): "a", (S, 1): "c", ("otro", 1): "a"}


def test_entries_of_another_shape_are_skipped() -> None:
    entries = [
        (1, {"subject": S, "version": "x", "sha256": "a"}),
        (2, {"subject": S, "sha256": "a"}),
        (3, {"subject": S, "version": "1", "sha256": ""}),
        _entry(4, 1, "d"),
    ]
    assert first_fingerprints(entries) == {(S, 1): "d"}
