"""Verification of an audit chain: finds the first broken entry and says why, in Spanish.

Checks per entry, in this order: the sequence continues without a gap (a gap means deleted
entries), ``prev_hash`` is the previous entry's hash (otherwise reordered or inserted), the
content still hashes to ``entry_hash`` (otherwise edited) and the hub's signature over
``entry_hash`` holds (otherwise forged). An expected head (the one the hub published) also
catches a log cut short at the end or rewritten as a whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from itertools import islice
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.agreements.keys import key_id, public_key_from_str, public_key_to_str
from hub.audit.chain import GENESIS_HASH, AuditEntry, ChainHead
from hub.audit.signing import signature_valid

__all__ = ["Problem", "VerificationReport", "verify_chain"]

_CHUNK = 4096


class Problem(StrEnum):
    """Why an entry breaks the chain."""

    EDITED = "editada"
    DELETED = "borrada"
    REORDERED = "reordenada"
    FORGED = "falsificada"
    TRUNCATED = "truncada"


@dataclass(frozen=True)
class VerificationReport:
    """Outcome of :func:`verify_chain`; ``first_bad_sequence`` is None when the chain holds."""

    entries_checked: int
    last_sequence: int
    last_hash: bytes
    first_bad_sequence: int | None = None
    problem: Problem | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when no entry was found broken."""
        return self.problem is None

    def render(self) -> str:
        """One line in Spanish for the operator."""
        if self.ok:
            return (
                f"bitácora íntegra: {self.entries_checked} entradas verificadas, "
                f"última {self.last_sequence} (hash {self.last_hash.hex()})"
            )
        return f"bitácora alterada en la entrada {self.first_bad_sequence}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (hashes in hex)."""
        return {
            "ok": self.ok,
            "entries_checked": self.entries_checked,
            "last_sequence": self.last_sequence,
            "last_hash": self.last_hash.hex(),
            "first_bad_sequence": self.first_bad_sequence,
            "problem": self.problem.name if self.problem else None,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class _Break:
    sequence: int
    problem: Problem
    reason: str


def _structure(entry: AuditEntry, expected: int, prev: bytes) -> _Break | None:
    """Sequence, link and content checks of one entry (everything but the signature)."""
    seq = entry.sequence
    if seq > expected:
        missing = f"{expected}" if seq == expected + 1 else f"{expected} a {seq - 1}"
        return _Break(
            expected,
            Problem.DELETED,
            f"falta(n) la(s) entrada(s) {missing} (la siguiente presente es la {seq}); "
            "se borraron entradas de la bitácora",
        )
    if seq < expected:
        return _Break(
            seq,
            Problem.REORDERED,
            f"la entrada {seq} aparece después de la {expected - 1}; "
            "entradas reordenadas o duplicadas",
        )
    if entry.prev_hash != prev:
        previous = "el hash inicial (ceros)" if seq == 1 else f"el hash de la entrada {seq - 1}"
        return _Break(
            seq,
            Problem.REORDERED,
            f"su prev_hash no es {previous}; se reordenaron o insertaron entradas",
        )
    if entry.computed_hash() != entry.entry_hash:
        return _Break(
            seq,
            Problem.EDITED,
            "su contenido no corresponde a su hash; la entrada fue editada",
        )
    return None


def _forged(fingerprint: str, seq: int) -> _Break:
    return _Break(
        seq,
        Problem.FORGED,
        f"su firma no es de la llave del hub ({fingerprint}); entrada falsificada",
    )


def _bad_signatures(
    key: Ed25519PublicKey, entries: list[AuditEntry], pool: ThreadPoolExecutor
) -> int | None:
    """Index of the first entry whose signature fails, checking two halves in parallel."""

    def first_bad(part: list[AuditEntry]) -> int | None:
        for index, entry in enumerate(part):
            if not signature_valid(key, entry.entry_hash, entry.signature):
                return index
        return None

    half = (len(entries) + 1) // 2
    left, right = pool.map(first_bad, [entries[:half], entries[half:]])
    if left is not None:
        return left
    return None if right is None else half + right


def verify_chain(
    entries: Iterable[AuditEntry],
    public_key: Ed25519PublicKey | str,
    *,
    expected_head: ChainHead | None = None,
) -> VerificationReport:
    """Walk ``entries`` in sequence order and report the first broken one (streams; stops there).

    ``public_key`` is the hub's key (object or ``ed25519:...`` text). ``expected_head``, when
    given, must be reached exactly: a log shorter than it was cut at the end.
    """
    key = public_key_from_str(public_key) if isinstance(public_key, str) else public_key
    fingerprint = key_id(public_key_to_str(key))
    last_sequence, last_hash, checked = 0, GENESIS_HASH, 0
    hash_at_head: bytes | None = None
    iterator: Iterator[AuditEntry] = iter(entries)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="audit-verify") as pool:
        while chunk := list(islice(iterator, _CHUNK)):
            broken: _Break | None = None
            good: list[AuditEntry] = []
            expected, prev = last_sequence + 1, last_hash
            for entry in chunk:
                broken = _structure(entry, expected, prev)
                if broken is not None:
                    break
                good.append(entry)
                expected, prev = entry.sequence + 1, entry.entry_hash
            bad = _bad_signatures(key, good, pool)
            if bad is not None:
                broken = _forged(fingerprint, good[bad].sequence)
                good = good[:bad]
            checked += len(good)
            if good:
                last_sequence, last_hash = good[-1].sequence, good[-1].entry_hash
                if expected_head is not None and good[0].sequence <= expected_head.sequence:
                    index = expected_head.sequence - good[0].sequence
                    if index < len(good):
                        hash_at_head = good[index].entry_hash
            if broken is not None:
                return _failed(checked, last_sequence, last_hash, broken)
    if expected_head is not None:
        head_break = _check_head(expected_head, key, fingerprint, last_sequence, hash_at_head)
        if head_break is not None:
            return _failed(checked, last_sequence, last_hash, head_break)
    return VerificationReport(checked, last_sequence, last_hash)


def _failed(
    checked: int, last_sequence: int, last_hash: bytes, broken: _Break
) -> VerificationReport:
    return VerificationReport(
        entries_checked=checked,
        last_sequence=last_sequence,
        last_hash=last_hash,
        first_bad_sequence=broken.sequence,
        problem=broken.problem,
        reason=broken.reason,
    )


def _check_head(
    head: ChainHead,
    key: Ed25519PublicKey,
    fingerprint: str,
    last_sequence: int,
    hash_at_head: bytes | None,
) -> _Break | None:
    """Whether the verified log ends exactly at the published head."""
    if head.sequence == 0:
        return None
    if not signature_valid(key, head.entry_hash, head.signature):
        return _Break(
            head.sequence,
            Problem.FORGED,
            f"la firma de la cabeza de la cadena no es de la llave del hub ({fingerprint})",
        )
    if last_sequence < head.sequence:
        missing = (
            f"{last_sequence + 1}"
            if last_sequence + 1 == head.sequence
            else f"{last_sequence + 1} a {head.sequence}"
        )
        return _Break(
            last_sequence + 1,
            Problem.TRUNCATED,
            f"la bitácora termina en la entrada {last_sequence} pero la cabeza registrada es la "
            f"{head.sequence}; se borraron las entradas {missing} del final",
        )
    if hash_at_head != head.entry_hash:
        return _Break(
            head.sequence,
            Problem.EDITED,
            "su hash no coincide con el de la cabeza registrada; la bitácora fue reescrita",
        )
    return None
