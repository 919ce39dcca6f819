"""Ed25519 keys of agreements: generation, the ``ed25519:<base64>`` text form, signing, verifying.

An agency signs each change set with its private key; the agreement carries the public key as
``public_key: ed25519:<base64 of the raw 32 bytes>`` and the hub verifies before anything else.

DEMO KEYS — ``demo_private_key(agreement_id)`` derives a key from a PUBLIC formula
(``sha256(b"sisi-demo-key:" + id)``). Anyone can compute it, so it proves nothing. It exists only
so the sample agreements (``environment: demo``) can be exercised by the demo and the tests. A
production agreement must carry a key made with ``sisi agreements keygen`` and kept secret.

KEY ROTATION — an agreement may list several keys (``public_keys:``), each with a validity window
and an optional revocation; ``SigningKey`` is one such key, normalized (the single ``public_key:``
form is one key without window). The hub judges a key by ITS OWN CLOCK when the message is
inspected, never by the message's ``sent_at``: that field is written by the agency, so anyone
holding a retired or leaked key could claim any time. A key verifies a message when its window
contains the hub's time and it is not revoked by then; a revoked key (``revoked_at``, or
``revoked: true`` alone = since always) refuses everything from then on whatever time the message
claims. Messages signed with the old key that miss the overlap are re-signed by the agency
(``sisi outbox resign``) under the same message id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.errors import ConfigurationError, SignatureError

__all__ = [
    "KEY_PREFIX",
    "REVOKED_ALWAYS",
    "SigningKey",
    "demo_private_key",
    "generate_keypair",
    "key_id",
    "load_private_key",
    "private_key_to_pem",
    "public_key_from_str",
    "public_key_of",
    "public_key_to_str",
    "sign",
    "verify",
]

KEY_PREFIX = "ed25519:"
_DEMO_SEED_PREFIX = b"sisi-demo-key:"


def generate_keypair() -> tuple[bytes, str]:
    """A fresh key: (private key as unencrypted PKCS#8 PEM, public key as ``ed25519:...``)."""
    private = Ed25519PrivateKey.generate()
    return private_key_to_pem(private), public_key_of(private)


def private_key_to_pem(private_key: Ed25519PrivateKey) -> bytes:
    """PKCS#8 PEM, unencrypted (protect it with file permissions: 0600)."""
    return private_key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


def public_key_of(private_key: Ed25519PrivateKey) -> str:
    """The ``ed25519:...`` text of a private key's public half."""
    return public_key_to_str(private_key.public_key())


def load_private_key(path: Path | str) -> Ed25519PrivateKey:
    """Read an Ed25519 private key in PEM; clear errors when missing, unreadable or not Ed25519."""
    path = Path(path)
    hint = "genere una clave con 'sisi agreements keygen <ID>' o indique la ruta correcta"
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        message = "no existe el archivo de clave privada"
        raise ConfigurationError(message, path=path, hint=hint) from exc
    except OSError as exc:
        raise ConfigurationError(
            f"no se pudo leer la clave privada ({exc.strerror})",
            path=path,
            hint="revise los permisos del archivo (debe poder leerlo el usuario que firma)",
        ) from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            "el archivo no contiene una clave privada PEM sin contraseña", path=path, hint=hint
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(
            f"la clave es {type(key).__name__.removeprefix('_')}, no Ed25519", path=path, hint=hint
        )
    return key


def public_key_to_str(key: Ed25519PublicKey) -> str:
    """``ed25519:<base64 of the raw 32 bytes>``."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return KEY_PREFIX + base64.b64encode(raw).decode("ascii")


def public_key_from_str(text: str) -> Ed25519PublicKey:
    """Parse ``ed25519:<base64>``; raises ``SignatureError`` when it is not a valid Ed25519 key."""
    hint = "copie la línea 'public_key:' que imprime 'sisi agreements keygen'"
    if not text.startswith(KEY_PREFIX):
        raise SignatureError(f"la clave pública debe empezar con '{KEY_PREFIX}'", hint=hint)
    try:
        raw = base64.b64decode(text[len(KEY_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("la clave pública no es base64 válido", hint=hint) from exc
    if len(raw) != 32:
        raise SignatureError(
            f"la clave pública Ed25519 debe tener 32 bytes, no {len(raw)}", hint=hint
        )
    return Ed25519PublicKey.from_public_bytes(raw)


def sign(private_key: Ed25519PrivateKey, data: bytes) -> bytes:
    """The 64-byte Ed25519 signature of ``data``."""
    return private_key.sign(data)


@lru_cache(maxsize=512)
def _parsed(public_key_str: str) -> Ed25519PublicKey:
    """``public_key_from_str`` once per key text (the hub verifies every message)."""
    return public_key_from_str(public_key_str)


def verify(public_key_str: str, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is ``data`` signed by that key (a malformed key: SignatureError)."""
    key = _parsed(public_key_str)
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


@lru_cache(maxsize=512)
def key_id(public_key_str: str) -> str:
    """Short fingerprint of a public key: first 16 hex digits of sha256 of its raw bytes."""
    key = public_key_from_str(public_key_str)
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def demo_private_key(agreement_id: str) -> Ed25519PrivateKey:
    """DEMO ONLY — a key anyone can recompute from the agreement id. Never use in production.

    Seed: ``sha256(b"sisi-demo-key:" + agreement_id)``. The sample agreements, marked
    ``environment: demo``, carry the matching public keys.
    """
    seed = hashlib.sha256(_DEMO_SEED_PREFIX + agreement_id.encode("utf-8")).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


#: ``revoked_at`` of a key revoked without a date: it never verifies anything.
REVOKED_ALWAYS = datetime.min.replace(tzinfo=UTC)


def _when(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One public key an agreement accepts, with its window and revocation (all times aware).

    ``valid_from``/``valid_until`` ``None`` mean unbounded (the single ``public_key:`` form);
    ``revoked_at`` is when the key stopped counting for good: ``datetime.min`` (UTC) for a key
    revoked without a date, ``None`` for a key not revoked.
    """

    public_key: str
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def key_id(self) -> str:
        """The key's fingerprint (``sisi-key-id`` header)."""
        return key_id(self.public_key)

    def revoked_by(self, at: datetime) -> bool:
        """Whether the key is revoked at ``at`` (the hub's time)."""
        return self.revoked_at is not None and at >= self.revoked_at

    def valid_at(self, at: datetime) -> bool:
        """Whether the key verifies messages inspected at ``at``: in its window, not revoked."""
        if self.revoked_by(at):
            return False
        if self.valid_from is not None and at < self.valid_from:
            return False
        return self.valid_until is None or at <= self.valid_until

    def why_not(self, at: datetime) -> str:
        """Spanish: why this key does not verify at ``at`` (for a refusal's detail)."""
        name = f"la clave {self.key_id}"
        if self.revoked_at is not None and at >= self.revoked_at:
            if self.revoked_at == REVOKED_ALWAYS:
                return f"{name} está revocada"
            return f"{name} está revocada desde {_when(self.revoked_at)}"
        if self.valid_from is not None and at < self.valid_from:
            return f"{name} entra en vigor el {_when(self.valid_from)}; hora del hub {_when(at)}"
        if self.valid_until is not None and at > self.valid_until:
            ended = _when(self.valid_until)
            return f"la vigencia de {name} terminó el {ended}; hora del hub {_when(at)}"
        return f"{name} está vigente"
