"""Rotating the hub's signing key without leaving the old log unverifiable.

:func:`rotate_hub_key` makes a new Ed25519 key and records the rotation in the audit log itself:
a ``HUB_KEY_ROTATED`` entry, alone in its batch and signed with the key it retires, that names
both public keys; the stored head written with it is signed by the new key (its proof of
possession at that point of the chain). Then it installs the new key as ``keys/hub.key`` and
``hub.pub``, appends it to the key history ``keys/hub-keys.jsonl`` (:mod:`hub.audit.keyring`),
keeps the retired public key in ``keys/retired/`` and carries the secret of the CURP digests
over in ``keys/pseudonym.key``. The retired private key is not kept: nothing may sign with it
again, and a verifier only needs its public half. ``sisi audit verify`` then checks each batch
under the key in force at its point of the chain (:mod:`hub.audit.custody`).

Order, for a crash at any point: the new private key is written to ``keys/pending/`` first;
the log entry is the moment of the rotation (from then on the log has the new key in force and
an :class:`~hub.audit.store.AuditLog` on the old one refuses to append); the files are installed
last. Running the rotation again after a crash between the entry and the files finishes the
installation instead of rotating twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from hub.agreements.keys import (
    load_private_key,
    private_key_to_pem,
    public_key_of,
    public_key_to_str,
)
from hub.audit.canonical import format_timestamp
from hub.audit.chain import Action, AuditEntry
from hub.audit.custody import rotation_event, rotation_keys
from hub.audit.headsig import fingerprint
from hub.audit.keyring import KeyRecord, keyring_path, read_keyring, write_keyring
from hub.audit.keys import (
    hub_key_path,
    hub_public_key_path,
    load_or_create_hub_key,
    pseudonym_secret_path,
    replace_file,
    write_new_file,
)
from hub.audit.pseudonym import pseudonym_secret
from hub.audit.store import AuditLog, iter_entries, read_head, recent_entries
from hub.errors import ConfigurationError
from hub.settings import Settings

__all__ = ["Rotation", "rotate_hub_key"]

#: A reason names something (at least one word of three letters), like a read's purpose.
_REASON_WORD = re.compile(r"[^\W\d_]{3}")


@dataclass(frozen=True)
class Rotation:
    """What a rotation did: the entry that records it and the two keys."""

    sequence: int
    old_key_id: str
    new_key_id: str
    new_public_key: str
    recorded_at: datetime
    #: True when this call only finished installing a rotation a crash had interrupted
    resumed: bool = False


def rotate_hub_key(settings: Settings, engine: Engine, *, actor: str, reason: str) -> Rotation:
    """Rotate the hub's key (see the module docstring). ``reason`` goes into the log entry."""
    if _REASON_WORD.search(reason) is None:
        raise ConfigurationError(
            f"el motivo «{reason.strip()[:40]}» no dice por qué se rota la llave",
            field="--motivo",
            hint="escriba el motivo concreto, p. ej. «rotación anual» o «llave expuesta en el "
            "respaldo del 3 de noviembre»; queda en la bitácora",
        )
    path = hub_key_path(settings)
    if not path.exists():
        raise ConfigurationError(
            "no hay llave del hub que rotar",
            path=path,
            hint="el hub crea su llave la primera vez que registra algo (`sisi up`); revise "
            "SISI_DATA_DIR",
        )
    old = load_or_create_hub_key(settings)
    old_id = fingerprint(old)
    with engine.connect() as conn:
        head = read_head(conn)
    if head.key_id is not None and head.key_id != old_id:
        return _resume(settings, engine, old, head.key_id)
    new = Ed25519PrivateKey.generate()
    pending = _pending_path(settings, fingerprint(new))
    write_new_file(pending, private_key_to_pem(new), 0o600)
    secret = pseudonym_secret_path(settings)
    write_new_file(secret, (pseudonym_secret(old).hex() + "\n").encode("ascii"), 0o600)
    entry = AuditLog(engine, old).append_rotation(
        rotation_event(actor, old, new, reason.strip()), new
    )
    _install(settings, engine, old, new, entry)
    return _result(entry, old_id, new, resumed=False)


def _pending_path(settings: Settings, key_id: str) -> Path:
    return hub_key_path(settings).parent / "pending" / f"hub-{key_id}.key"


def _resume(settings: Settings, engine: Engine, old: Ed25519PrivateKey, in_force: str) -> Rotation:
    """The log has ``in_force`` in force but ``hub.key`` is still ``old``: finish the install."""
    old_id = fingerprint(old)
    pending = _pending_path(settings, in_force)
    last = recent_entries(engine, action=Action.HUB_KEY_ROTATED.value, limit=1)
    entry = last[0] if last else None
    named = None
    if entry is not None:
        try:
            named = tuple(fingerprint(key) for key in rotation_keys(entry.details))
        except ValueError:
            named = None
    if entry is None or named != (old_id, in_force) or not pending.exists():
        raise ConfigurationError(
            f"la bitácora tiene en vigor la llave {in_force}, pero keys/hub.key es la {old_id} y "
            "no hay una rotación pendiente de esa llave que terminar",
            path=hub_key_path(settings),
            hint=f"restaure en hub.key la llave privada {in_force} de su respaldo; no rote de "
            "nuevo hasta que `sisi audit keys` muestre esa llave como la actual",
        )
    new = load_private_key(pending)
    if fingerprint(new) != in_force:
        raise ConfigurationError(
            f"la llave pendiente no es la {in_force} que nombra la bitácora",
            path=pending,
            hint="restaure en hub.key la llave privada correcta de su respaldo",
        )
    _install(settings, engine, old, new, entry)
    return _result(entry, old_id, new, resumed=True)


def _install(
    settings: Settings,
    engine: Engine,
    old: Ed25519PrivateKey,
    new: Ed25519PrivateKey,
    entry: AuditEntry,
) -> None:
    """Key history, retired public key, then the new key files (the private key last)."""
    first = next(iter_entries(engine, start=1, batch_size=1), None)
    log_id = None if first is None else first.entry_hash.hex()
    history_path = keyring_path(settings)
    records = [r for r in read_keyring(history_path) if r.log_first_hash in (None, log_id)]
    old_id, new_id = fingerprint(old), fingerprint(new)
    if not records or records[-1].key_id != old_id:
        records = [KeyRecord(public_key_of(old), old_id, 1, None, None, log_id)]
        records = _previous_of_log(engine, records, entry.sequence)
    if records[-1].key_id != new_id:
        records.append(
            KeyRecord(
                public_key_of(new),
                new_id,
                entry.sequence + 1,
                entry.sequence,
                format_timestamp(entry.recorded_at),
                log_id,
            )
        )
    all_records = [r for r in read_keyring(history_path) if r.log_first_hash not in (None, log_id)]
    write_keyring(history_path, [*all_records, *records])
    retired = hub_key_path(settings).parent / "retired" / f"hub-{old_id}.pub"
    write_new_file(retired, (public_key_of(old) + "\n").encode("ascii"), 0o644)
    replace_file(hub_public_key_path(settings), (public_key_of(new) + "\n").encode("ascii"), 0o644)
    pending = _pending_path(settings, new_id)
    pending.replace(hub_key_path(settings))


def _previous_of_log(
    engine: Engine, records: list[KeyRecord], rotation_sequence: int
) -> list[KeyRecord]:
    """``records`` (one: the key being retired) preceded by the keys earlier rotations of the
    log name, for a key history started by a hub that had none (or lost it)."""
    earlier = [
        entry
        for entry in recent_entries(engine, action=Action.HUB_KEY_ROTATED.value, limit=100_000)
        if entry.sequence < rotation_sequence
    ]
    if not earlier:
        return records
    history: list[KeyRecord] = []
    for entry in earlier:
        old, new = rotation_keys(entry.details)
        if not history:
            history.append(KeyRecord(public_key_to_str(old), fingerprint(old), 1, None, None))
        history.append(
            KeyRecord(
                public_key_to_str(new),
                fingerprint(new),
                entry.sequence + 1,
                entry.sequence,
                format_timestamp(entry.recorded_at),
            )
        )
    log_id = records[0].log_first_hash
    return [replace(record, log_first_hash=log_id) for record in history]


def _result(entry: AuditEntry, old_id: str, new: Ed25519PrivateKey, *, resumed: bool) -> Rotation:
    return Rotation(
        entry.sequence,
        old_id,
        fingerprint(new),
        public_key_of(new),
        entry.recorded_at,
        resumed,
    )
