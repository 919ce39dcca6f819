"""The hub's key history on disk: ``<data_dir>/keys/hub-keys.jsonl``, one key a line, oldest first.

Written by ``sisi audit rotate-key`` (:mod:`hub.audit.rotation`); read by ``sisi audit verify``
and ``published`` to know every public key the hub has used, and by ``sisi audit keys`` to show
it. The log itself is the authority (each rotation is an entry signed by the retired key); this
file is what lets a verifier start the walk and lets the hub notice a rotation entry that went
missing from the log. Each line::

    {"public_key": "ed25519:...", "key_id": "…", "first_sequence": 41,
     "rotation_sequence": 40, "rotated_at": "2026-11-25T04:00:00.123Z",
     "log_first_hash": "<hex of entry 1's hash>"}

``log_first_hash`` ties a rotation to one log: ``sisi up --reset`` starts a new log and keeps
``keys/``, and the rotations of the old log say nothing about the new one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.agreements.keys import public_key_from_str
from hub.audit.headsig import fingerprint
from hub.audit.keys import replace_file
from hub.errors import ConfigurationError, SignatureError
from hub.settings import Settings

__all__ = ["KeyRecord", "keyring_path", "read_keyring", "write_keyring"]

_HINT = (
    "el archivo lo escribe `sisi audit rotate-key`; restáurelo de su respaldo o quítelo y "
    "verifique con --public-key"
)


@dataclass(frozen=True)
class KeyRecord:
    """One hub key and where in the log it took over."""

    public_key: str
    key_id: str
    first_sequence: int = 1
    rotation_sequence: int | None = None
    rotated_at: str | None = None
    log_first_hash: str | None = None

    @property
    def key(self) -> Ed25519PublicKey:
        return public_key_from_str(self.public_key)


def keyring_path(settings: Settings) -> Path:
    """``<data_dir>/keys/hub-keys.jsonl``."""
    return settings.data_dir / "keys" / "hub-keys.jsonl"


def _record(line: str, path: Path, number: int) -> KeyRecord:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"no es JSON válido ({exc.msg})", path=path, line=number, hint=_HINT
        ) from exc
    if not isinstance(value, dict):
        raise ConfigurationError("no es un objeto JSON", path=path, line=number, hint=_HINT)
    try:
        record = KeyRecord(
            public_key=str(value["public_key"]),
            key_id=str(value["key_id"]),
            first_sequence=int(value.get("first_sequence", 1)),
            rotation_sequence=(
                None if value.get("rotation_sequence") is None else int(value["rotation_sequence"])
            ),
            rotated_at=value.get("rotated_at"),
            log_first_hash=value.get("log_first_hash"),
        )
        key = record.key
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"le falta un campo o tiene uno inválido ({exc})", path=path, line=number, hint=_HINT
        ) from exc
    except SignatureError as exc:
        raise ConfigurationError(
            exc.message, path=path, line=number, field="public_key", hint=_HINT
        ) from exc
    if fingerprint(key) != record.key_id:
        raise ConfigurationError(
            f"key_id {record.key_id} no es el de su llave ({fingerprint(key)})",
            path=path,
            line=number,
            field="key_id",
            hint=_HINT,
        )
    return record


def read_keyring(path: Path) -> list[KeyRecord]:
    """The records of ``path`` in order; empty when the file does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"no se pudo leer la historia de llaves del hub ({type(exc).__name__})",
            path=path,
            hint=_HINT,
        ) from exc
    return [
        _record(line, path, number)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]


def write_keyring(path: Path, records: Sequence[KeyRecord]) -> None:
    """Replace ``path`` with ``records`` atomically (a reader sees the old file or the new)."""
    text = "".join(json.dumps(asdict(record), ensure_ascii=False) + "\n" for record in records)
    replace_file(path, text.encode("utf-8"), 0o644)
