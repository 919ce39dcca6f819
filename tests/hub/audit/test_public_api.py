"""The audit package's public API: what other stages call is exported, and the action names hold."""

from __future__ import annotations

import hub.audit
from hub.audit import Action

USED_ELSEWHERE = {
    "Action",
    "AuditEvent",
    "AuditEntry",
    "AuditLog",
    "ChainHead",
    "VerificationReport",
    "verify_chain",
    "load_or_create_hub_key",
    "load_hub_public_key",
}


def test_all_names_exist() -> None:
    for name in hub.audit.__all__:
        assert hasattr(hub.audit, name), name
    assert set(hub.audit.__all__) >= USED_ELSEWHERE
    assert len(set(hub.audit.__all__)) == len(hub.audit.__all__)


def test_action_strings_are_stable() -> None:
    # These strings are hashed into every entry and published: renaming one breaks old chains.
    assert [action.value for action in Action] == [
        "ITEM_ACCEPTED",
        "ITEM_REJECTED",
        "CHANGESET_REJECTED",
        "AGREEMENT_LOADED",
        "AGREEMENT_CHANGED",
        "CONTRACT_REGISTERED",
        "PERSONAL_DATA_READ",
        "QUARANTINE_REPLAYED",
        "CHAIN_HEAD_PUBLISHED",
        "CONTRACT_DELETED",
        "RECORD_RELINKED",
        "CONTRACT_CONFIG_CHANGED",
        "HUB_KEY_ROTATED",
    ]
