"""Verification of an audit chain: finds the first broken entry and says why, in Spanish.

Checks per entry, in this order: the sequence continues without a gap (a gap means deleted
entries), ``prev_hash`` is the previous entry's hash (otherwise reordered or inserted) and the
content still hashes to ``entry_hash`` (otherwise edited). Every signed entry (a batch head)
must carry the signature over its ``entry_hash`` of the hub key in force at that entry (the
key changes only at a ``HUB_KEY_ROTATED`` entry, which the retiring key signs:
:mod:`hub.audit.custody`): a batch rewritten with recomputed hashes fails there, since the
attacker cannot sign. An entry whose successor has another timestamp
ended its batch (a batch shares one timestamp) and must be signed: otherwise its signature was
removed (two batches in the same millisecond cannot be told apart, so there it goes unseen; the
next signature still vouches for the content). The log must end in a signed entry (otherwise
the end of a batch was cut off), and an expected head also catches a log cut short at a batch
boundary or rewritten as a whole. The head stored next to the log can be rolled back by whoever
can write the database; only a head published by the hub and kept elsewhere
(``published_head``) catches that. Heads are checked by :mod:`hub.audit.headcheck`.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from itertools import islice
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.audit.canonical import Canonicalizer
from hub.audit.chain import GENESIS_HASH, AuditEntry, ChainHead, DamagedEntry
from hub.audit.custody import ROTATED, Custody, HubKeys, KeyPeriod
from hub.audit.findings import Break as _Break
from hub.audit.findings import HeadRefusal, Problem
from hub.audit.headcheck import check_head
from hub.audit.signing import signature_valid

__all__ = [
    "HeadRefusal",
    "HubKeys",
    "ListedRead",
    "Problem",
    "VerificationReport",
    "people_digest",
    "verify_chain",
    "verify_read_subjects",
]

_CHUNK = 4096
_PARALLEL_SIGNATURES = 64  # below this many signatures in a chunk, threads cost more than they save


@dataclass(frozen=True)
class VerificationReport:
    """Outcome of :func:`verify_chain`; ``first_bad_sequence`` is None when the chain holds."""

    entries_checked: int
    last_sequence: int
    last_hash: bytes
    first_bad_sequence: int | None = None
    problem: Problem | None = None
    reason: str | None = None
    #: sequence of the published head the log was checked against (None when none was given)
    published_sequence: int | None = None
    #: how many distinct published heads the log was checked against (and holds)
    published_count: int = 0
    #: how many of them are of the old form (their signature covers only the hash)
    published_old_form: int = 0
    #: published heads refused as evidence (an old-form head whose sequence was changed)
    refused_heads: tuple[HeadRefusal, ...] = ()
    #: (first sequence, key id, rotation entry) of each hub key the walk found in force
    keys: tuple[tuple[int, str, int | None], ...] = ()

    @property
    def ok(self) -> bool:
        """True when no entry was found broken."""
        return self.problem is None

    def render(self) -> str:
        """One line in Spanish for the operator."""
        if self.ok:
            published = (
                f"; contiene la cabeza publicada {self.published_sequence}"
                if self.published_sequence and self.published_count <= 1
                else f"; contiene las {self.published_count} cabezas publicadas revisadas (la más "
                f"reciente, la {self.published_sequence})"
                if self.published_sequence
                else ""
            )
            if self.published_count:
                signed = self.published_count - self.published_old_form
                forms = [f"{signed} de forma v2, con su secuencia firmada"] if signed else []
                if self.published_old_form:
                    forms.append(
                        f"{self.published_old_form} de forma antigua v1: su firma cubre sólo el "
                        "hash, así que su número de secuencia lo confirma sólo la bitácora, no la "
                        "firma"
                    )
                published += " (" + "; ".join(forms) + ")"
            return (
                f"bitácora íntegra: {self.entries_checked} entradas verificadas, "
                f"última {self.last_sequence} (hash {self.last_hash.hex()}){published}"
                f"{self.render_keys()}"
            )
        return f"bitácora alterada en la entrada {self.first_bad_sequence}: {self.reason}"

    def render_keys(self) -> str:
        """The hub keys of the log and where each took over, when there was a rotation."""
        if len(self.keys) <= 1:
            return ""
        parts = [
            f"{key_id} desde la entrada {first}"
            + ("" if rotation is None else f" (rotación en la entrada {rotation})")
            for first, key_id, rotation in self.keys
        ]
        return "; llaves del hub: " + ", ".join(parts)

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
            "published_sequence": self.published_sequence,
            "published_count": self.published_count,
            "published_old_form": self.published_old_form,
            "refused_heads": [
                {"sequence": item.sequence, "reason": item.reason} for item in self.refused_heads
            ],
            "keys": [
                {"first_sequence": first, "key_id": key_id, "rotation_sequence": rotation}
                for first, key_id, rotation in self.keys
            ],
        }


def _structure(
    entry: AuditEntry, expected: int, prev: bytes, canon: Canonicalizer
) -> _Break | None:
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
    if isinstance(entry, DamagedEntry):
        return _Break(seq, Problem.EDITED, entry.damage)
    if entry.computed_hash(canon) != entry.entry_hash:
        return _Break(
            seq,
            Problem.EDITED,
            "su contenido no corresponde a su hash; la entrada fue editada",
        )
    return None


def _forged(custody: Custody, entry: AuditEntry, key: KeyPeriod, run_start: int) -> _Break:
    """Why the signature of ``entry`` (checked under ``key``, in force there) fails."""
    seq = entry.sequence
    assert entry.signature is not None
    if entry.action == ROTATED:
        return _Break(
            seq,
            Problem.FORGED,
            f"la rotación de llave de la entrada {seq} no está firmada por la llave que retira "
            f"({key.key_id}), la que estaba en vigor: rotación falsificada",
        )
    other = custody.other_signer(entry.entry_hash, entry.signature, besides=(key.key_id,))
    if other is not None:
        reason = (
            f"la firma de la entrada {seq} es de la llave {other}, que no estaba en vigor en "
            f"esta entrada (en vigor: {key.key_id}, desde la entrada {key.first_sequence}): se "
            "borró una rotación de llave (HUB_KEY_ROTATED) anterior, o se firmó con una llave "
            "retirada"
        )
        return _Break(run_start, Problem.FORGED, reason)
    if run_start == seq:
        reason = f"su firma no es de la llave del hub ({key.key_id}); entrada falsificada"
    else:
        reason = (
            f"la firma de la entrada {seq} no es de la llave del hub ({key.key_id}), así que "
            f"ninguna firma válida cubre las entradas {run_start} a {seq}: lote reescrito o "
            "entrada falsificada"
        )
    return _Break(run_start, Problem.FORGED, reason)


def _unsigned_batch_end(entry: AuditEntry, following: AuditEntry) -> _Break:
    """``entry`` ends a batch (every entry of a batch has its batch's one timestamp, and the next
    one has another) but has no signature, which the hub puts on the last entry of each batch."""
    return _Break(
        entry.sequence,
        Problem.EDITED,
        f"no tiene firma, pero es la última de su lote (la entrada {following.sequence} se "
        "registró en otro momento) y el hub firma la última entrada de cada lote; alguien borró "
        "su firma",
    )


def _unsigned_tail(run_start: int, last: int, head: ChainHead | None) -> _Break:
    span = f"la entrada {last}" if run_start == last else f"las entradas {run_start} a {last}"
    beyond = (
        f" (la cabeza registrada es la {head.sequence})"
        if head is not None and head.sequence > last
        else ""
    )
    return _Break(
        run_start,
        Problem.TRUNCATED,
        f"la bitácora termina en la entrada {last} sin firma del hub{beyond}: ninguna firma "
        f"cubre {span}; se borró el final de un lote (o su firma) o se agregaron entradas sin "
        "firma",
    )


def _first_bad_signature(
    signed: list[tuple[AuditEntry, KeyPeriod]], pool: ThreadPoolExecutor
) -> int | None:
    """Index of the first entry of ``signed`` whose signature fails under the key in force
    there (halves checked in parallel).

    Batch heads are few, so this is cheap; a log signed entry by entry still verifies, just slower.
    """

    def first_bad(part: list[tuple[AuditEntry, KeyPeriod]]) -> int | None:
        for index, (entry, period) in enumerate(part):
            assert entry.signature is not None
            if not signature_valid(period.key, entry.entry_hash, entry.signature):
                return index
        return None

    if len(signed) < _PARALLEL_SIGNATURES:
        return first_bad(signed)
    half = (len(signed) + 1) // 2
    left, right = pool.map(first_bad, [signed[:half], signed[half:]])
    if left is not None:
        return left
    return None if right is None else half + right


def verify_chain(
    entries: Iterable[AuditEntry],
    public_key: Ed25519PublicKey | str | HubKeys,
    *,
    expected_head: ChainHead | None = None,
    published_head: ChainHead | None = None,
    published_heads: Iterable[ChainHead] = (),
    require_signed_end: bool = True,
) -> VerificationReport:
    """Walk ``entries`` in sequence order and report the first broken one (streams; stops there).

    ``public_key`` is the hub's key (object or ``ed25519:...`` text) or, for a log whose key was
    rotated, :class:`HubKeys`: the key in force at entry 1 and the keys the verifier trusts.
    Every entry must link to the previous one and hash to its ``entry_hash``; every signature
    present must be the one of the hub key in force at that entry; each ``HUB_KEY_ROTATED``
    entry must retire the key in force and be signed by it, and puts its new key in force from
    the next entry on (:mod:`hub.audit.custody`); a trusted key must have signed something
    checked; and the log must end in a signed entry (a batch head), since the signatures are
    what make a rewritten chain detectable. ``expected_head``, when given, must be reached
    exactly: a log shorter than it was cut at the end. ``published_head``, a head the hub
    published (and someone kept outside the hub), must be in the log exactly: its signature is
    the hub's and the entry with its sequence has its hash. The log may have grown past it; a log
    that ends before it, or holds another entry there, was cut and re-headed or rewritten.
    ``published_heads``: several such heads (e.g. every head a public topic holds), each checked
    the same way; the failing one with the lowest sequence is reported. Checking the older ones
    too is what catches a log cut, re-headed and then grown again by the hub, whose newer heads
    describe the new chain. A published head of the old form whose hash is in the log at another
    sequence was relabelled: it is refused (``refused_heads``), the log is not at fault
    (:mod:`hub.audit.headcheck`). ``require_signed_end=False`` checks a prefix (e.g. a topic
    read while a batch is still arriving) without that last rule.

    On failure the report's ``entries_checked``/``last_sequence`` stop before the first entry
    that can no longer be vouched for (``first_bad_sequence``).
    """
    keys = public_key if isinstance(public_key, HubKeys) else HubKeys.of(public_key)
    custody = Custody(keys)
    canon = Canonicalizer()
    last_sequence, last_hash, checked = 0, GENESIS_HASH, 0
    covered_sequence, covered_hash = 0, GENESIS_HASH  # last entry proven by a hub signature
    hash_at_head: bytes | None = None
    distinct = {
        (head.sequence, head.entry_hash, head.signature, head.head_signature or b""): head
        for head in (*published_heads, *(() if published_head is None else (published_head,)))
    }
    published = [distinct[item] for item in sorted(distinct)]
    wanted = sorted({head.sequence for head in published})
    old_form = {head.entry_hash for head in published if head.head_signature is None}
    found_at: dict[bytes, int] = {}  # where the hashes of old-form published heads are
    hash_at: dict[int, bytes] = {}  # entry hash at each published head's sequence
    previous_entry: AuditEntry | None = None  # the entry before the one being checked
    iterator: Iterator[AuditEntry] = iter(entries)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="audit-verify") as pool:
        while chunk := list(islice(iterator, _CHUNK)):
            broken: _Break | None = None
            good: list[AuditEntry] = []
            signed: list[tuple[AuditEntry, KeyPeriod]] = []
            expected, prev = last_sequence + 1, last_hash
            for entry in chunk:
                broken = _structure(entry, expected, prev, canon)
                if (
                    broken is None
                    and previous_entry is not None
                    and previous_entry.signature is None
                    and previous_entry.recorded_at != entry.recorded_at
                ):
                    broken = _unsigned_batch_end(previous_entry, entry)
                    if good and good[-1] is previous_entry:
                        good.pop()
                if broken is not None:
                    break
                period = custody.in_force
                if entry.action == ROTATED:
                    rotation = custody.rotation_problem(entry)
                    if rotation is not None:
                        broken = _Break(entry.sequence, Problem.FORGED, rotation)
                        break
                good.append(entry)
                if entry.signature is not None:
                    signed.append((entry, period))
                previous_entry = entry
                expected, prev = entry.sequence + 1, entry.entry_hash
            bad = _first_bad_signature(signed, pool)
            if bad is not None:
                if bad:
                    before = signed[bad - 1][0]
                    covered_sequence, covered_hash = before.sequence, before.entry_hash
                entry, period = signed[bad]
                forged = _forged(custody, entry, period, covered_sequence + 1)
                return _failed(covered_sequence, covered_sequence, covered_hash, forged)
            custody.signers.update(period.key_id for _, period in signed)
            if signed:
                last_signed = signed[-1][0]
                covered_sequence, covered_hash = last_signed.sequence, last_signed.entry_hash
            checked += len(good)
            if good:
                last_sequence, last_hash = good[-1].sequence, good[-1].entry_hash
                if expected_head is not None and good[0].sequence <= expected_head.sequence:
                    index = expected_head.sequence - good[0].sequence
                    if index < len(good):
                        hash_at_head = good[index].entry_hash
                first = good[0].sequence
                low = bisect_left(wanted, first)
                high = bisect_right(wanted, good[-1].sequence)
                for sequence in wanted[low:high]:
                    hash_at[sequence] = good[sequence - first].entry_hash
                if old_form:
                    for entry in good:
                        if entry.entry_hash in old_form:
                            found_at.setdefault(entry.entry_hash, entry.sequence)
            if broken is not None:
                return _failed(checked, last_sequence, last_hash, broken)
    if require_signed_end and covered_sequence < last_sequence:
        tail = _unsigned_tail(covered_sequence + 1, last_sequence, expected_head)
        return _failed(covered_sequence, covered_sequence, covered_hash, tail)
    history = tuple(custody.history())
    if expected_head is not None:
        head_break = check_head(expected_head, custody, last_sequence, hash_at_head, found_at)
        if isinstance(head_break, _Break):
            return replace(_failed(checked, last_sequence, last_hash, head_break), keys=history)
    refused: list[HeadRefusal] = []
    accepted: list[ChainHead] = []
    for head in published:
        found = check_head(
            head, custody, last_sequence, hash_at.get(head.sequence), found_at, published=True
        )
        if isinstance(found, HeadRefusal):
            refused.append(found)
            continue
        if found is not None:
            return replace(
                _failed(checked, last_sequence, last_hash, found),
                published_sequence=published[-1].sequence,
                published_count=len(published),
                keys=history,
            )
        accepted.append(head)
    if covered_sequence and not custody.proven():
        trusted = ", ".join(custody.trusted_ids())
        chain = " → ".join(key_id for _, key_id, _ in history)
        unproven = _Break(
            1,
            Problem.FORGED,
            f"ninguna firma de la bitácora es de una llave de confianza ({trusted}): sus firmas "
            f"son de las llaves {chain}, y nombrar una llave no prueba nada; bitácora de otro hub "
            "o falsificada, o se indicó otra llave",
        )
        return replace(_failed(0, 0, GENESIS_HASH, unproven), keys=history)
    return VerificationReport(
        checked,
        last_sequence,
        last_hash,
        published_sequence=max((head.sequence for head in accepted), default=None),
        published_count=len(accepted),
        published_old_form=sum(head.head_signature is None for head in accepted),
        refused_heads=tuple(refused),
        keys=history,
    )


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


def people_digest(person_ids: Iterable[str]) -> str:
    """``people_sha256`` of a list read: SHA-256 (hex) of its distinct person ids, sorted by code
    point and joined by newlines (the same in every database, whatever its collation)."""
    return hashlib.sha256("\n".join(sorted(set(person_ids))).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ListedRead:
    """A verified PERSONAL_DATA_READ entry that lists people: its count and ``people_sha256``."""

    sequence: int
    people: int | None  # None when the detail is not a number (the digest still decides)
    people_sha256: str


def _rows(count: int) -> str:
    return "1 fila" if count == 1 else f"{count} filas"


def _subjects_break(listed: ListedRead | None, sequence: int, ids: Sequence[str]) -> _Break | None:
    """What is wrong with the ``audit_read_subjects`` rows ``ids`` of entry ``sequence``."""
    table = "audit_read_subjects"
    if listed is None:
        return _Break(
            sequence,
            Problem.EDITED,
            f"{table} tiene {_rows(len(ids))} para la entrada {sequence}, que no registra una "
            "lista de personas leídas (no tiene people_sha256); se agregaron filas a la lista "
            "de personas leídas",
        )
    if people_digest(ids) == listed.people_sha256:
        return None
    wanted = listed.people
    told = f"registra {wanted} personas leídas" if wanted is not None else "registra una lista"
    if wanted is not None and len(ids) < wanted:
        return _Break(
            sequence,
            Problem.DELETED,
            f"la entrada {sequence} (lectura de datos personales) {told} pero {table} tiene "
            f"{_rows(len(ids))} para ella: faltan {wanted - len(ids)}; se borraron filas de la "
            "lista de personas leídas",
        )
    if wanted is not None and len(ids) > wanted:
        return _Break(
            sequence,
            Problem.EDITED,
            f"la entrada {sequence} (lectura de datos personales) {told} pero {table} tiene "
            f"{_rows(len(ids))} para ella: sobran {len(ids) - wanted}; se agregaron filas a la "
            "lista de personas leídas",
        )
    return _Break(
        sequence,
        Problem.EDITED,
        f"las {_rows(len(ids))} de {table} de la entrada {sequence} (lectura de datos "
        "personales) no son las personas que la entrada registró (su people_sha256 no "
        "coincide); se cambiaron filas de la lista de personas leídas",
    )


def verify_read_subjects(
    report: VerificationReport,
    listed: Iterable[ListedRead],
    stored: Iterable[tuple[int, Sequence[str]]],
    *,
    log_end: Callable[[], int] | None = None,
) -> VerificationReport:
    """``report`` of a chain that held, checked further against the side table of list reads.

    ``listed``: the chain's entries that carry ``people_sha256``, in sequence order; ``stored``:
    the ``audit_read_subjects`` rows grouped by sequence, in sequence order (one ordered scan).
    Both are walked once, together; the first entry whose rows are missing, extra or changed (or
    rows of an entry that lists nobody) fails the report. Rows past ``report.last_sequence``
    may belong to a read appended after the walk: ``log_end`` (called once, when the first such
    rows are met, so after the scan that found them began) gives the log's end then, and rows
    past it belong to no entry. Without ``log_end`` they are not checked.
    """
    if not report.ok:
        return report
    wanted = iter(listed)
    found = iter(stored)
    entry = next(wanted, None)
    group = next(found, None)
    end: int | None = None
    while entry is not None or group is not None:
        broken: _Break | None
        if group is not None and group[0] > report.last_sequence and entry is None:
            if log_end is None:
                break
            end = log_end() if end is None else end
            if group[0] <= end:
                group = next(found, None)
                continue
            broken = _Break(
                group[0],
                Problem.EDITED,
                f"audit_read_subjects tiene {_rows(len(group[1]))} para la entrada {group[0]}, "
                f"que no existe (la bitácora llega a la {end}); se agregaron filas a la lista "
                "de personas leídas",
            )
        elif group is None or (entry is not None and entry.sequence < group[0]):
            assert entry is not None
            broken = _subjects_break(entry, entry.sequence, ())
            entry = next(wanted, None)
        elif entry is None or group[0] < entry.sequence:
            broken = _subjects_break(None, group[0], group[1])
            group = next(found, None)
        else:
            broken = _subjects_break(entry, entry.sequence, group[1])
            entry, group = next(wanted, None), next(found, None)
        if broken is not None:
            return replace(
                report,
                first_bad_sequence=broken.sequence,
                problem=broken.problem,
                reason=broken.reason,
            )
    return report
