"""Which hub keys a verification trusts, and the checks that need the key history.

``sisi audit verify`` and ``published`` trust the keys given with ``--public-key`` (each as the
hub published it), or else every key of the hub's key history ``keys/hub-keys.jsonl`` and its
``hub.pub``. Given keys are the only ones trusted: a key merely found in the local data directory
never signs for them (anyone who can write ``keys/`` could add one). ``verify`` also takes the
keys the log's own rotations name (:func:`with_log_keys`): the walk then proves each of them from
a trusted key. The log's own rotations say which key is in force where (:mod:`hub.audit.custody`);
the history on disk is checked against them (:func:`history_problems`): a rotation it records
that the log lacks was removed from the log. For a verifier without the log (``published``),
the history says over which entries each key was in force (:func:`key_period_problem`).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Engine

from hub.agreements.keys import public_key_from_str
from hub.audit.chain import Action, ChainHead
from hub.audit.custody import HubKeys, rotation_keys, unique_keys
from hub.audit.findings import Break, Problem
from hub.audit.headsig import HeadForm, fingerprint, head_form, head_signature_valid
from hub.audit.keyring import KeyRecord, keyring_path, read_keyring
from hub.audit.keys import hub_public_key_path, load_hub_public_key
from hub.audit.signing import signature_valid
from hub.audit.store import iter_entries, recent_entries
from hub.audit.verify import VerificationReport
from hub.errors import ConfigurationError, SignatureError
from hub.settings import Settings

__all__ = [
    "TrustedKeys",
    "current_log_id",
    "head_signer",
    "history_of_log",
    "history_problems",
    "hub_keys_for",
    "key_period_problem",
    "trusted_keys",
    "with_log_keys",
]


@dataclass(frozen=True)
class TrustedKeys:
    """The keys a command trusts, every key it knows of, and the key history it read."""

    trusted: tuple[Ed25519PublicKey, ...]
    known: tuple[Ed25519PublicKey, ...]
    history: tuple[KeyRecord, ...]
    #: True when the keys came from --public-key (the history then only names keys)
    given: bool
    #: keys found in the data directory: never trusted with --public-key, only where a walk of
    #: the log starts (whatever it starts from, a trusted key must sign what the walk checks)
    local: tuple[Ed25519PublicKey, ...] = ()

    @property
    def ids(self) -> list[str]:
        return [fingerprint(key) for key in self.trusted]

    def by_id(self, key_id: str) -> Ed25519PublicKey | None:
        return next((key for key in self.known if fingerprint(key) == key_id), None)


def trusted_keys(settings: Settings, given: Sequence[str]) -> TrustedKeys:
    """``--public-key`` values, else the key history and ``hub.pub`` of ``settings.data_dir``."""
    history = tuple(read_keyring(keyring_path(settings)))
    on_disk = [record.key for record in history]
    if given:
        local = list(on_disk)
        if hub_public_key_path(settings).exists():
            # a damaged hub.pub only loses a hint of where the walk starts
            with suppress(ConfigurationError):
                local.append(load_hub_public_key(settings))
        trusted = []
        for text in given:
            try:
                trusted.append(public_key_from_str(text.strip()))
            except SignatureError as exc:
                raise ConfigurationError(exc.message, field="--public-key", hint=exc.hint) from exc
        keys = unique_keys(trusted)
        return TrustedKeys(keys, keys, history, True, unique_keys(local))
    if hub_public_key_path(settings).exists() or not history:
        on_disk.append(load_hub_public_key(settings))  # raises the clear error when missing
    keys = unique_keys(on_disk)
    return TrustedKeys(keys, keys, history, False)


def with_log_keys(engine: Engine, keys: TrustedKeys) -> TrustedKeys:
    """``keys`` knowing also every key the log's rotations name (HUB_KEY_ROTATED entries).

    Knowing is not trusting: a head signed by such a key is checked against the walk of the log,
    which takes a rotation only when the key in force signed it, and a verification succeeds only
    when a trusted key signed something the walk checked.
    """
    named: list[Ed25519PublicKey] = []
    for entry in recent_entries(engine, action=Action.HUB_KEY_ROTATED.value, limit=1_000_000):
        try:
            named.extend(rotation_keys(entry.details))
        except ValueError:
            continue  # the walk names the damaged rotation
    known = unique_keys([*keys.known, *named])
    return TrustedKeys(keys.trusted, known, keys.history, keys.given, keys.local)


def hub_keys_for(engine: Engine, keys: TrustedKeys, head: ChainHead) -> HubKeys:
    """Where the walk of the log on ``engine`` starts: the key its first rotation retires, else
    the first key the key history records for this log (its rotation may have been removed),
    else the key the stored head names, else a trusted key."""
    rotations = recent_entries(engine, action=Action.HUB_KEY_ROTATED.value, limit=1_000_000)
    initial: Ed25519PublicKey | None = None
    if rotations:
        try:
            initial = rotation_keys(rotations[0].details)[0]
        except ValueError:
            initial = None  # the walk names the damaged rotation
    if initial is None and keys.history:  # this log's first key, as the key history says
        log_id = _log_id(engine)
        mine = [r for r in keys.history if log_id is not None and r.log_first_hash == log_id]
        if mine:
            initial = mine[0].key
    if initial is None and head.key_id is not None:
        initial = keys.by_id(head.key_id) or next(
            (key for key in keys.local if fingerprint(key) == head.key_id), None
        )
    if initial is None:
        initial = keys.trusted[-1] if not keys.given else keys.trusted[0]
    return HubKeys(initial, keys.trusted, keys.known)


def head_signer(keys: TrustedKeys, head: ChainHead, key_id: str | None) -> str | None:
    """The id of the known key that signed ``head`` (its head signature, or for an old-form
    head its hash signature), or None. ``key_id`` is the id the head says. With ``--public-key``
    the known keys are the given ones (and, for ``verify``, those the log's rotations name)."""
    candidates = [k for k in keys.known if key_id is None or fingerprint(k) == key_id]
    for key in candidates:
        if head_form(head) is HeadForm.SIGNED_HEAD:
            valid = head_signature_valid(key, head)
        else:
            valid = signature_valid(key, head.entry_hash, head.signature)
        if valid:
            return fingerprint(key)
    return None


def _log_id(engine: Engine) -> str | None:
    first = next(iter_entries(engine, start=1, batch_size=1), None)
    return None if first is None else first.entry_hash.hex()


def history_problems(
    report: VerificationReport, history: Sequence[KeyRecord], engine: Engine
) -> tuple[Break | None, list[str]]:
    """The key history on disk against the rotations the walk of the log found.

    A rotation the history records (for this log) that the log lacks is a failure: the entry was
    removed. A rotation of the log the history lacks is only told (the file may be older than
    the log, e.g. restored from a backup).
    """
    if not report.ok:
        return None, []
    log_id = _log_id(engine)
    mine = [r for r in history if r.rotation_sequence is not None and r.log_first_hash == log_id]
    walked = {(first, key_id, rotation) for first, key_id, rotation in report.keys}
    for record in mine:
        assert record.rotation_sequence is not None
        if (record.first_sequence, record.key_id, record.rotation_sequence) in walked:
            continue
        where = record.rotation_sequence
        if report.last_sequence < where:
            reason = (
                f"el historial de llaves del hub (keys/hub-keys.jsonl) registra la rotación a la "
                f"llave {record.key_id} en la entrada {where}, pero la bitácora termina en la "
                f"entrada {report.last_sequence}: se borró la entrada de rotación (y lo que la "
                "seguía)"
            )
            return Break(report.last_sequence + 1, Problem.TRUNCATED, reason), []
        reason = (
            f"el historial de llaves del hub (keys/hub-keys.jsonl) registra la rotación a la "
            f"llave {record.key_id} en la entrada {where}, y la bitácora no la tiene ahí: se "
            "borró o reemplazó la entrada de rotación (HUB_KEY_ROTATED)"
        )
        return Break(where, Problem.DELETED, reason), []
    recorded = {(r.first_sequence, r.key_id, r.rotation_sequence) for r in mine}
    notes = [
        f"el historial de llaves (keys/hub-keys.jsonl) no registra la rotación de la entrada "
        f"{rotation} a la llave {key_id}, que la bitácora sí tiene (firmada por la llave "
        "anterior); el archivo es anterior a esa rotación"
        for first, key_id, rotation in report.keys
        if rotation is not None and (first, key_id, rotation) not in recorded
    ]
    return None, notes


def history_of_log(history: Sequence[KeyRecord], log_id: str | None) -> list[KeyRecord]:
    """The records of ``history`` that describe the log whose entry 1 has hash ``log_id``.

    ``sisi up --reset`` starts a new log and keeps ``keys/``: the rotations of the old log say
    nothing about the new one (its key signs it from entry 1). A record without a log (written
    before records named theirs) is taken as the current log's. With ``log_id`` None (the log
    cannot be read) the history is taken as it is.
    """
    if log_id is None:
        return list(history)
    return [r for r in history if r.log_first_hash in (None, log_id)]


def current_log_id(engine: Engine) -> str | None:
    """The hex hash of entry 1 of the log on ``engine`` (None when it is empty): what names a log
    in the key history."""
    return _log_id(engine)


def key_period_problem(history: Sequence[KeyRecord], signer: str, head: ChainHead) -> str | None:
    """Why a head signed by ``signer`` cannot be the hub's at its sequence, from the history.

    ``history`` must be one log's (:func:`history_of_log`). A key signs heads from the rotation
    that brought it in (the head written with it) to the rotation that retired it (the retired
    key signs that entry's batch). Unknown keys and histories of several logs are not judged.
    """
    index = next((i for i, r in enumerate(history) if r.key_id == signer), None)
    if index is None or len({r.log_first_hash for r in history}) > 1:
        return None
    record = history[index]
    start = record.rotation_sequence or 1
    following = history[index + 1] if index + 1 < len(history) else None
    end = None if following is None else following.rotation_sequence
    if head.sequence < start:
        return (
            f"la cabeza de la entrada {head.sequence} está firmada con la llave {signer}, que "
            f"según el historial de llaves (keys/hub-keys.jsonl) entró en vigor con la rotación "
            f"de la entrada {start}: esa llave no firmaba todavía esa entrada; trátela como "
            "comprometida (si la bitácora se reinició con `sisi up --reset`, el historial es de "
            "la bitácora anterior: verifique con `sisi audit verify --published`)"
        )
    if end is not None and head.sequence > end:
        return (
            f"la cabeza de la entrada {head.sequence} está firmada con la llave {signer}, que "
            f"según el historial de llaves (keys/hub-keys.jsonl) se retiró con la rotación de la "
            f"entrada {end}: se firmó con una llave retirada; trátela como comprometida"
        )
    return None
