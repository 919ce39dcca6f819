"""The agency's signing key for an agreement: a key file (given, or the one ``sisi agreements
keygen`` wrote under ``SISI_KEYS_DIR``), or the demo key of a demo agreement."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.agreements import Agreement, demo_private_key, load_private_key
from hub.agreements.keys import public_key_of
from hub.errors import ConfigurationError, SignatureError

__all__ = ["signing_key"]


def signing_key(
    agreement: Agreement, key_path: Path | str | None = None, *, keys_dir: Path | None = None
) -> Ed25519PrivateKey:
    """The private key to sign ``agreement``'s change sets with.

    With ``key_path`` the key is read and must match the agreement's public key. Without it a
    demo agreement (``environment: demo``) signs with its well-known demo key, and a production
    agreement with ``<keys_dir>/<id>.key`` (default ``SISI_KEYS_DIR``: where ``sisi agreements
    keygen`` writes it), checked the same way; without that file the agency's key is required.
    """
    if key_path is None and agreement.environment != "demo":
        if keys_dir is None:
            from hub.settings import Settings

            keys_dir = Settings().keys_dir
        stored = Path(keys_dir) / f"{agreement.id}.key"
        if stored.is_file():
            key_path = stored
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
        hint=f"indique --key RUTA_A_LA_CLAVE_PRIVADA (PEM), o déjela en {keys_dir}/"
        f"{agreement.id}.key (SISI_KEYS_DIR, donde la escribe 'sisi agreements keygen');"
        " solo los convenios de demostración firman sin ella.",
    )
