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

An agreement may accept several keys over time (rotation): :func:`verify_with_keys` tries the keys
valid at the hub's time of inspection (``hub.agreements.keys.SigningKey``) and says which one
verified, or in Spanish why none did. The key-id header only orders the attempts and explains a
refusal; it never makes a key acceptable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.agreements.keys import SigningKey, key_id, public_key_of, sign, verify

__all__ = [
    "AGREEMENT_HEADER",
    "KEY_ID_HEADER",
    "MESSAGE_ID_HEADER",
    "SIGNATURE_HEADER",
    "Envelope",
    "KeyCheck",
    "headers_dict",
    "reseal",
    "seal",
    "verify_envelope",
    "verify_with_keys",
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


def reseal(
    private_key: Ed25519PrivateKey,
    headers: Iterable[tuple[str, bytes]],
    value: bytes,
) -> list[tuple[str, bytes]]:
    """``headers`` of an already sealed ``value`` with a new signature and key id (key rotation).

    The value (and so the message id and every byte the hub reads) stays the same; any other
    header is kept in place.
    """
    signature = sign(private_key, value)
    fingerprint = key_id(public_key_of(private_key)).encode()
    result: list[tuple[str, bytes]] = []
    for name, data in headers:
        if name == SIGNATURE_HEADER:
            result.append((name, signature))
        elif name == KEY_ID_HEADER:
            result.append((name, fingerprint))
        else:
            result.append((name, data))
    names = {name for name, _ in result}
    if KEY_ID_HEADER not in names:
        result.append((KEY_ID_HEADER, fingerprint))
    if SIGNATURE_HEADER not in names:
        result.append((SIGNATURE_HEADER, signature))
    return result


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


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """The outcome of :func:`verify_with_keys`: the key that verified, or why none did."""

    key: SigningKey | None
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.key is not None


def verify_with_keys(
    keys: Sequence[SigningKey], value: bytes, headers: Mapping[str, bytes], at: datetime
) -> KeyCheck:
    """Verify the signature header against the keys valid at ``at`` (the hub's clock).

    The key the ``sisi-key-id`` header names is tried first (usually the only attempt). A key
    outside its window or revoked by ``at`` is never tried, whatever the message claims.
    """
    signature = headers.get(SIGNATURE_HEADER)
    if signature is None:
        return KeyCheck(None, "falta el encabezado sisi-signature")
    if len(signature) != 64:
        return KeyCheck(None, f"la firma mide {len(signature)} bytes, no 64")
    raw_id = headers.get(KEY_ID_HEADER)
    named = raw_id.decode("ascii", "replace").strip() if raw_id is not None else None
    candidates = sorted(keys, key=lambda k: k.key_id != named)
    for key in candidates:
        if key.valid_at(at) and verify(key.public_key, value, signature):
            return KeyCheck(key)
    return KeyCheck(None, _why_refused(keys, named, value, signature, at))


def _why_refused(
    keys: Sequence[SigningKey], named: str | None, value: bytes, signature: bytes, at: datetime
) -> str:
    """Spanish detail of a refused signature (diagnostics: the key id header is not trusted)."""
    resign = (
        "; la dependencia debe volver a firmar lo pendiente con su clave vigente "
        "('sisi outbox resign --agreement CONVENIO --key CLAVE_NUEVA')"
    )
    for key in keys:
        if key.key_id == named or (named is None and verify(key.public_key, value, signature)):
            if not verify(key.public_key, value, signature):
                return f"la firma no corresponde a la clave {key.key_id} que nombra sisi-key-id"
            return f"firmado con una clave que el hub ya no acepta: {key.why_not(at)}{resign}"
    if named is not None:
        return f"la clave {named} que nombra sisi-key-id no está en el convenio"
    return "ninguna clave del convenio verifica la firma"
