"""Keyed digests that stand for a CURP where the audit log must name one without holding it.

The audit log cannot be erased, so it holds no personal data in clear (invariant 5). Two places
need to name a CURP anyway: a look-up of a CURP the registry does not hold (``sisi registry
person``: there is no registry id to name), and an item whose agency uses the CURP as its folio
(``reference_id``). Both write ``HMAC-SHA256(curp)`` under a key derived from the hub's private
key: the same CURP gives the same digest in every entry and worker, so an auditor holding the
CURP (and the hub, its key) can find its entries, while the log alone reveals nothing.

The secret outlives a rotation of the hub's key: the rotation keeps it in
``<data_dir>/keys/pseudonym.key`` (see :func:`carry_secret`), so digests stay the same.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = [
    "REFERENCE_PREFIX",
    "ReferenceMask",
    "carry_secret",
    "curp_digest",
    "curp_subject",
    "pseudonym_secret",
]

#: How a reference that is a CURP appears in the audit log: the prefix, then 32 hex digits.
REFERENCE_PREFIX: Final = "curp-hmac:"
#: A CURP's shape (uppercase, as the validator normalizes it): the check is on shape, not validity.
_CURP: Final = re.compile(r"[A-Z][AEIOUX][A-Z]{2}\d{6}[HMX][A-Z]{5}[0-9A-Z]\d")
_DOMAIN: Final = b"sisi-consulta-curp:"


#: Secrets carried over a hub key rotation, by the raw public key of the key they go with.
_CARRIED: dict[bytes, bytes] = {}


def _public_raw(hub_key: Ed25519PrivateKey) -> bytes:
    return hub_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def carry_secret(hub_key: Ed25519PrivateKey, secret: bytes) -> None:
    """Use ``secret`` instead of the one derived from ``hub_key`` (after a key rotation).

    The digests must not change when the hub's key does: idempotency keys of CURP folios and
    every ``curp_hmac`` in the log were made with the first key's secret. ``hub.audit.keys``
    calls this with ``<data_dir>/keys/pseudonym.key``, which a rotation writes.
    """
    if len(secret) != 32:
        raise ValueError("a pseudonym secret is 32 bytes")
    _CARRIED[_public_raw(hub_key)] = secret


def pseudonym_secret(hub_key: Ed25519PrivateKey) -> bytes:
    """The HMAC key of the digests: carried over a rotation, else derived from ``hub_key``."""
    return _derived_key(hub_key)


def _derived_key(hub_key: Ed25519PrivateKey) -> bytes:
    carried = _CARRIED.get(_public_raw(hub_key)) if _CARRIED else None
    if carried is not None:
        return carried
    raw = hub_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return hashlib.sha256(_DOMAIN + raw).digest()


def curp_digest(hub_key: Ed25519PrivateKey, curp: str) -> str:
    """HMAC-SHA256 of ``curp`` under a key derived from the hub's private key (hex)."""
    return hmac.new(_derived_key(hub_key), curp.encode(), hashlib.sha256).hexdigest()


def curp_subject(hub_key: Ed25519PrivateKey, curp: str) -> str:
    """How a read names a person by her CURP: ``curp-hmac:`` and the CURP's whole digest.

    Registry ids change when records move between people (a corrected CURP, two records found
    to be one person); the CURP names the same person before and after. Reads of personal data
    record both, so "who read my data" (``sisi audit reads``) finds a read made under an id the
    registry no longer has. The CURP is normalized (trimmed, uppercase) first.
    """
    return REFERENCE_PREFIX + curp_digest(hub_key, curp.strip().upper())


class ReferenceMask:
    """A reference as the audit log may hold it: unchanged, unless it has a CURP's shape.

    ``mask(" gode561231hdfrrn09 ")`` gives ``curp-hmac:`` and the first 32 hex digits of the
    CURP's digest (128 bits: no collisions among a country's CURPs); a folio gives itself.
    """

    def __init__(self, hub_key: Ed25519PrivateKey) -> None:
        self._key = _derived_key(hub_key)

    def __call__(self, reference: str) -> str:
        if len(reference) < 18:
            return reference  # the usual folio: no look further
        candidate = reference.strip().upper()
        if _CURP.fullmatch(candidate) is None:
            return reference
        digest = hmac.new(self._key, candidate.encode(), hashlib.sha256).hexdigest()
        return REFERENCE_PREFIX + digest[:32]
