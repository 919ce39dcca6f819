"""The signature over a whole chain head: sequence, entry hash, time and key, not the hash alone.

A batch signature (``AuditEntry.signature``) covers only ``entry_hash``. The hash commits to
the entry's sequence through its canonical bytes, but only for someone who holds the entry: a
reader of the public topic who sees ``(sequence, entry_hash, signature)`` cannot tell whether
the sequence is the one the hub signed. So anyone could republish a genuine signature under
another sequence. The head signature closes that: the hub signs the ASCII bytes ::

    sisi-audit-head-v2\\n<sequence>\\n<entry_hash hex>\\n<recorded_at>\\n<key_id>

(``recorded_at`` as ``2024-05-01T12:00:00.123Z``; ``key_id`` the fingerprint of the signing key,
``hub.agreements.keys.key_id``), so a changed sequence, time or key id makes it fail. The domain
prefix keeps these signatures apart from batch signatures (which sign 32 raw bytes).

A head without a head signature is of the *old form* (``AuditChainHead`` v1, or a head stored
before migration 0011): its signature still proves the hub signed that hash, but its sequence
is evidence only through the log (the entry with that hash carries its own sequence).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.agreements.keys import key_id, public_key_of, public_key_to_str
from hub.audit.canonical import format_timestamp
from hub.audit.chain import ChainHead
from hub.audit.signing import signature_valid

__all__ = [
    "HEAD_DOMAIN",
    "HeadForm",
    "fingerprint",
    "head_form",
    "head_message",
    "head_signature_valid",
    "sign_head",
]

#: What every head signature starts with (never the first bytes of a 32-byte hash by chance:
#: a batch signature signs exactly 32 bytes, a head message is longer).
HEAD_DOMAIN = b"sisi-audit-head-v2\n"


class HeadForm(StrEnum):
    """Which claims of a head its signature covers (the value is what the CLI prints)."""

    SIGNED_HEAD = "v2"  # head_signature: sequence, hash, time and key id
    HASH_ONLY = "v1"  # old form: the signature covers entry_hash only


def fingerprint(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The key's id (first 16 hex digits of SHA-256 of its raw public bytes)."""
    if isinstance(key, Ed25519PrivateKey):
        return key_id(public_key_of(key))
    return key_id(public_key_to_str(key))


def head_message(sequence: int, entry_hash: bytes, recorded_at: datetime, signer_id: str) -> bytes:
    """The bytes a head signature covers (see the module docstring)."""
    if sequence < 1 or len(entry_hash) != 32:
        raise ValueError("a signed head needs a sequence >= 1 and a 32-byte entry hash")
    if not signer_id or "\n" in signer_id:
        raise ValueError("a signed head needs a key id on one line")
    text = f"{sequence:d}\n{entry_hash.hex()}\n{format_timestamp(recorded_at)}\n{signer_id}"
    return HEAD_DOMAIN + text.encode("ascii")


def sign_head(
    key: Ed25519PrivateKey, sequence: int, entry_hash: bytes, recorded_at: datetime
) -> tuple[bytes, str]:
    """The head signature of ``key`` and the key id it names."""
    signer_id = fingerprint(key)
    return key.sign(head_message(sequence, entry_hash, recorded_at, signer_id)), signer_id


def head_form(head: ChainHead) -> HeadForm:
    """Whether ``head`` carries a head signature (v2) or only the hash signature (v1)."""
    return HeadForm.HASH_ONLY if head.head_signature is None else HeadForm.SIGNED_HEAD


def head_signature_valid(key: Ed25519PublicKey, head: ChainHead) -> bool:
    """Whether ``head.head_signature`` is ``key``'s over what the head claims.

    False when the head has no head signature, no time or no key id, or names another key.
    """
    if head.head_signature is None or head.at is None or head.key_id is None:
        return False
    if head.key_id != fingerprint(key) or head.sequence < 1 or len(head.entry_hash) != 32:
        return False
    message = head_message(head.sequence, head.entry_hash, head.at, head.key_id)
    return signature_valid(key, message, head.head_signature)
