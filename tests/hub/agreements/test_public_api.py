"""The package's public API: every name in ``__all__`` exists and the names others use are there."""

from __future__ import annotations

import hub.agreements

USED_ELSEWHERE = {
    "Agreement",
    "AgreementSet",
    "load_agreement",
    "load_agreements",
    "FileLayout",
    "FieldSource",
    "generate_keypair",
    "load_private_key",
    "public_key_from_str",
    "public_key_to_str",
    "sign",
    "verify",
    "key_id",
    "demo_private_key",
    "evaluate",
}


def test_all_names_exist() -> None:
    for name in hub.agreements.__all__:
        assert hasattr(hub.agreements, name), name
    assert set(hub.agreements.__all__) >= USED_ELSEWHERE
    assert len(set(hub.agreements.__all__)) == len(hub.agreements.__all__)
