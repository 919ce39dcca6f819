"""The agency's signing key for an agreement: a key file, or the demo key of a demo agreement."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.agreements import Agreement, demo_private_key, load_private_key
from hub.agreements.keys import public_key_of
from hub.errors import ConfigurationError, SignatureError

__all__ = ["signing_key"]


def signing_key(agreement: Agreement, key_path: Path | str | None = None) -> Ed25519PrivateKey:
    """The private key to sign ``agreement``'s change sets with.

    With ``key_path`` the key is read and must match the agreement's public key. Without it only
    a demo agreement (``environment: demo``) signs, with its well-known demo key; a production
    agreement requires the agency's own key.
    """
    if key_path is not None:
        key = load_private_key(key_path)
        if not agreement.accepts_key(public_key_of(key)):
            # during a key rotation both the old and the new key verify (public_keys windows)
            raise SignatureError(
                f"la clave privada no corresponde a ninguna clave pública vigente del convenio "
                f"{agreement.id}",
                path=key_path,
                hint="use la clave cuya parte pública registró el hub en el convenio "
                "(public_key o public_keys, vigente hoy y no revocada), o pida al hub "
                "actualizar el convenio.",
            )
        return key
    if agreement.environment == "demo":
        return demo_private_key(agreement.id)
    raise ConfigurationError(
        f"el convenio {agreement.id} es de producción: se necesita la clave privada de la "
        "dependencia",
        field="key",
        hint="indique --key RUTA_A_LA_CLAVE_PRIVADA (PEM); solo los convenios de demostración "
        "firman sin ella.",
    )
