"""The signed envelope of an agency message: which Kafka headers carry what, and how it is signed.

The Kafka value is the Confluent-framed Avro change set (or survey set) exactly as published; the
agency signs those bytes with the Ed25519 key named in its agreement and puts the signature in a
header. Signing the framed value (schema id included) means any changed byte, or the same body
presented under another schema id, fails verification. Brokers are not trusted: the hub verifies
before it decodes anything.

Headers (all values are bytes):

- ``sisi-agreement``  the agreement id (routing and the key to verify with; must match the body)
- ``sisi-message-id`` the change set's message_id (lets receipts and dedup work without decoding)
- ``sisi-key-id``     short fingerprint of the public key used (diagnostics, key rotation)
- ``sisi-signature``  64-byte Ed25519 signature of the value
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.agreements.keys import key_id, public_key_of, sign, verify

__all__ = [
    "AGREEMENT_HEADER",
    "KEY_ID_HEADER",
    "MESSAGE_ID_HEADER",
    "SIGNATURE_HEADER",
    "Envelope",
    "headers_dict",
    "seal",
    "verify_envelope",
]

AGREEMENT_HEADER = "sisi-agreement"
MESSAGE_ID_HEADER = "sisi-message-id"
KEY_ID_HEADER = "sisi-key-id"
SIGNATURE_HEADER = "sisi-signature"

Headers = Sequence[tuple[str, bytes | None]]


@dataclass(frozen=True, slots=True)
class Envelope:
    """A sealed message ready to publish: value bytes plus the headers that prove who sent it."""

    agreement_id: str
    message_id: str
    value: bytes
    signature: bytes
    key_id: str

    @property
    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers, in a stable order."""
        return [
            (AGREEMENT_HEADER, self.agreement_id.encode()),
            (MESSAGE_ID_HEADER, self.message_id.encode()),
            (KEY_ID_HEADER, self.key_id.encode()),
            (SIGNATURE_HEADER, self.signature),
        ]


def seal(
    private_key: Ed25519PrivateKey, agreement_id: str, message_id: str, value: bytes
) -> Envelope:
    """Sign ``value`` (the framed Avro bytes) for ``agreement_id``."""
    return Envelope(
        agreement_id=agreement_id,
        message_id=message_id,
        value=value,
        signature=sign(private_key, value),
        key_id=key_id(public_key_of(private_key)),
    )


def headers_dict(headers: Iterable[tuple[str, bytes | None]] | None) -> dict[str, bytes]:
    """Kafka headers as a dict (last value wins; ``None`` values dropped)."""
    result: dict[str, bytes] = {}
    for name, value in headers or ():
        if value is not None:
            result[name] = bytes(value)
    return result


def verify_envelope(public_key: str, value: bytes, headers: dict[str, bytes]) -> bool:
    """Whether the signature header is ``value`` signed by ``public_key`` (``ed25519:...``)."""
    signature = headers.get(SIGNATURE_HEADER)
    if signature is None or len(signature) != 64:
        return False
    return verify(public_key, value, signature)
