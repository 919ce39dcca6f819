"""The hub's own Ed25519 signing key: ``<data_dir>/keys/hub.key`` (0600) and ``hub.pub`` beside it.

The key is made on first use. Several hub processes may start at once: each writes a private
temporary file and links it into place, so exactly one key wins and every process loads it.

``sisi audit rotate-key`` (:mod:`hub.audit.rotation`) replaces both files with a new key, keeps
every public key in ``hub-keys.jsonl`` (:mod:`hub.audit.keyring`) and the retired public keys in
``retired/``, and keeps the secret of the audit log's CURP digests in ``pseudonym.key`` (it must
not change with the key: :mod:`hub.audit.pseudonym`).
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.agreements.keys import (
    load_private_key,
    private_key_to_pem,
    public_key_from_str,
    public_key_of,
)
from hub.audit.pseudonym import carry_secret
from hub.errors import ConfigurationError, SignatureError
from hub.settings import Settings

__all__ = [
    "hub_key_path",
    "hub_public_key_path",
    "load_hub_public_key",
    "load_or_create_hub_key",
    "pseudonym_secret_path",
    "replace_file",
    "write_new_file",
]


def hub_key_path(settings: Settings) -> Path:
    """Where the hub's private key lives: ``<data_dir>/keys/hub.key``."""
    return settings.data_dir / "keys" / "hub.key"


def hub_public_key_path(settings: Settings) -> Path:
    """Where the public key is written as ``ed25519:<base64>``: ``<data_dir>/keys/hub.pub``."""
    return settings.data_dir / "keys" / "hub.pub"


def pseudonym_secret_path(settings: Settings) -> Path:
    """The secret of the log's CURP digests, kept over key rotations: ``keys/pseudonym.key``."""
    return settings.data_dir / "keys" / "pseudonym.key"


def write_new_file(path: Path, data: bytes, mode: int) -> bool:
    """Write ``data`` to ``path`` (with ``mode``) unless it exists; True when this call made it."""
    return _write_new(path, data, mode)


def _aside(path: Path, data: bytes, mode: int) -> Path:
    """``data`` written and synced to a private temporary file beside ``path`` (with ``mode``)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def replace_file(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path`` with ``data`` atomically (written and synced aside, then renamed)."""
    tmp = _aside(path, data, mode)
    try:
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_new(path: Path, data: bytes, mode: int) -> bool:
    """Write ``data`` to ``path`` unless it exists; True when this call created it."""
    tmp = _aside(path, data, mode)
    try:
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


def _check_private(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        what = "la clave privada del hub" if path.suffix == ".key" else "el archivo secreto"
        raise ConfigurationError(
            f"{what} tiene permisos {mode:o}: otros usuarios pueden leerlo",
            path=path,
            hint=f"ejecute 'chmod 600 {path}'",
        )


def load_or_create_hub_key(settings: Settings) -> Ed25519PrivateKey:
    """The hub's signing key, created with mode 0600 (and its ``hub.pub``) when missing."""
    path = hub_key_path(settings)
    if not path.exists():
        _write_new(path, private_key_to_pem(Ed25519PrivateKey.generate()), 0o600)
    _check_private(path)
    key = load_private_key(path)
    public_path = hub_public_key_path(settings)
    public_text = public_key_of(key) + "\n"
    if not public_path.exists():
        _write_new(public_path, public_text.encode("ascii"), 0o644)
    elif public_path.read_text(encoding="ascii").strip() != public_text.strip():
        raise ConfigurationError(
            "hub.pub no corresponde a la clave privada del hub",
            path=public_path,
            hint="borre hub.pub para que se vuelva a escribir desde hub.key",
        )
    secret_path = pseudonym_secret_path(settings)
    if secret_path.exists():
        _check_private(secret_path)
        try:
            carry_secret(key, bytes.fromhex(secret_path.read_text(encoding="ascii").strip()))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConfigurationError(
                "pseudonym.key no tiene el secreto de las huellas de CURP (64 dígitos hex)",
                path=secret_path,
                hint="restáurelo de su respaldo: sin él las huellas de CURP de la bitácora ya no "
                "coinciden con las nuevas",
            ) from exc
    return key


def load_hub_public_key(settings: Settings) -> Ed25519PublicKey:
    """The hub's public key from ``hub.pub`` (never creates a key: verifying must not sign)."""
    path = hub_public_key_path(settings)
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError as exc:
        raise ConfigurationError(
            "no existe la llave pública del hub",
            path=path,
            hint="indique SISI_DATA_DIR del hub o pase --public-key ed25519:... publicada",
        ) from exc
    try:
        return public_key_from_str(text)
    except SignatureError as exc:
        raise ConfigurationError(exc.message, path=path, hint=exc.hint) from exc
