"""The producer's public API: what ``producers`` exports exists and is documented."""

from __future__ import annotations

import producers


def test_every_exported_member_exists_and_has_a_docstring() -> None:
    assert producers.__all__ == sorted(producers.__all__, key=lambda n: (not n.isupper(), n))
    for name in producers.__all__:
        member = getattr(producers, name)
        if callable(member):
            assert member.__doc__, name


def test_sdk_surface() -> None:
    for method in ("publish", "publish_change", "wait_receipt", "close", "resend"):
        assert callable(getattr(producers.AgencyClient, method))
        assert callable(getattr(producers.AsyncAgencyClient, method))
