"""``Outbox.resign``: after a key rotation, the unreceipted messages are signed again with the new
key, same bytes and ids, back to PENDIENTE; messages with a receipt are left alone."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.agreements import demo_private_key
from hub.agreements.keys import key_id, public_key_of, verify
from hub.envelope import SIGNATURE_HEADER, seal
from hub.settings import Settings
from producers.outbox import PENDIENTE, PUBLICADO, Outbox
from producers.store import open_state

PAM = "CONV-BIENESTAR-PAM-2026"


def test_resign_keeps_ids_and_bytes_and_skips_what_is_done(tmp_path: Path) -> None:
    conn = open_state(Settings(data_dir=tmp_path / "var"), PAM)
    box = Outbox(conn)
    old, new = demo_private_key(PAM), Ed25519PrivateKey.generate()
    conn.execute("BEGIN")
    for i in range(3):
        envelope = seal(old, PAM, f"m-{i}", f"valor {i}".encode())
        box.add(envelope, transaction_id="t-1", chunk_index=i, item_count=1)
    conn.execute("COMMIT")
    box.mark_published(["m-0", "m-1", "m-2"])
    conn.execute("UPDATE outbox SET state = 'ACEPTADO', value = NULL WHERE message_id = 'm-2'")
    assert box.signed_with() == {key_id(public_key_of(old)): 2}

    assert box.resign(new) == 2
    assert box.resign(new) == 0  # already signed with it
    messages = {m.message_id: m for m in box.unreceipted()}
    assert sorted(messages) == ["m-0", "m-1"]
    for i, message_id in enumerate(sorted(messages)):
        message = messages[message_id]
        assert message.value == f"valor {i}".encode()
        headers = dict(message.headers)
        assert headers["sisi-message-id"] == message_id.encode()
        assert verify(public_key_of(new), message.value, headers[SIGNATURE_HEADER])
        assert box.state_of(message_id) == PENDIENTE  # to be published again
    assert box.state_of("m-2") == "ACEPTADO"
    assert box.signed_with() == {key_id(public_key_of(new)): 2}
    box.mark_published(["m-0"])
    assert box.state_of("m-0") == PUBLICADO
    conn.close()
