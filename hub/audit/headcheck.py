"""Checking a chain head (the stored one, or one the hub published) against a verified log.

A head of the new form (``head_signature``, :mod:`hub.audit.headsig`) proves by itself which
entry it names: its sequence, hash, time and key id are signed. A head of the old form proves
only that the hub signed the hash; its sequence is evidence only through the log, where the
entry with that hash carries its own sequence. So an old-form head whose hash is in the log at
another sequence was relabelled by someone (refused, not a fault of the log), and one whose
hash is nowhere in the log shows a log rewritten or cut (the hub signed that hash once).

A published head that no key of the hub signed as it stands (a digit of its hash, its sequence,
time or key changed, or its batch signature) is refused as altered: it is not evidence about the
log, which is not blamed. A head validly signed by a key that was not in force at its entry is a
failure: that key must be treated as compromised.
"""

from __future__ import annotations

from collections.abc import Mapping

from hub.audit.chain import ChainHead
from hub.audit.custody import Custody
from hub.audit.findings import Break, HeadRefusal, Problem
from hub.audit.headsig import HeadForm, fingerprint, head_form, head_signature_valid
from hub.audit.signing import signature_valid

__all__ = ["FORM_TEXT", "check_head"]

#: How a head's form is told to the operator.
FORM_TEXT: Mapping[HeadForm, str] = {
    HeadForm.SIGNED_HEAD: "forma v2: su firma cubre secuencia, hash, hora y llave",
    HeadForm.HASH_ONLY: "forma antigua v1: su firma cubre sólo el hash, no la secuencia",
}


def _signature_break(
    head: ChainHead, custody: Custody, which: str, last: int
) -> Break | HeadRefusal | None:
    """Whether a key that may sign a head at its sequence made its signature (noted if so)."""
    form = head_form(head)
    keys = custody.head_keys(head.sequence, last)
    for key in keys:
        if form is HeadForm.SIGNED_HEAD:
            valid = head_signature_valid(key, head)
        else:
            valid = signature_valid(key, head.entry_hash, head.signature)
        if valid:
            custody.signers.add(fingerprint(key))
            if form is HeadForm.SIGNED_HEAD:
                return _batch_signature_break(head, custody, which, last)
            return None
    ids = [fingerprint(key) for key in keys]
    in_force = ", ".join(ids)
    where = f"la firma de la cabeza {which} de la entrada {head.sequence} ({FORM_TEXT[form]})"
    retired = None
    if form is HeadForm.SIGNED_HEAD:
        retired = next(
            (
                fingerprint(key)
                for key in custody.every_key()
                if fingerprint(key) not in ids and head_signature_valid(key, head)
            ),
            None,
        )
    else:
        retired = custody.other_signer(head.entry_hash, head.signature, besides=ids)
    if retired is not None:
        reason = (
            f"{where} es de la llave {retired}, que no estaba en vigor en esa entrada (en vigor: "
            f"{in_force}): se firmó con una llave retirada o de otro periodo; trate esa llave "
            "como comprometida"
        )
    elif form is HeadForm.SIGNED_HEAD:
        reason = (
            f"{where} no es válida con la llave del hub en vigor en esa entrada ({in_force}): la "
            "cabeza fue alterada (su secuencia, su hash, su hora o su llave) o no la firmó el hub"
        )
    else:
        reason = (
            f"{where} no es de la llave del hub en vigor en esa entrada ({in_force}): la cabeza "
            "fue alterada (su hash o su firma) o no la firmó el hub"
        )
    if retired is None and which == "publicada":  # no hub key signed it as it stands: altered
        # evidence that proves nothing (the stored head, though, is the log's own)
        return HeadRefusal(head.sequence, reason + "; no prueba nada de la bitácora")
    return Break(head.sequence, Problem.FORGED, reason)


def _batch_signature_break(
    head: ChainHead, custody: Custody, which: str, last: int
) -> Break | HeadRefusal | None:
    """A signed head also carries its entry's batch signature (``signature``, for v1 readers):
    it must be the one of the key in force at that entry too."""
    in_log = head.sequence <= last
    keys = [custody.period_at(head.sequence).key] if in_log else custody.every_key()
    if any(signature_valid(key, head.entry_hash, head.signature) for key in keys):
        return None
    in_force = ", ".join(fingerprint(key) for key in keys)
    reason = (
        f"la firma de la cabeza {which} de la entrada {head.sequence} (su campo signature, la "
        f"firma del lote sobre el hash) no es de la llave del hub en vigor en esa entrada "
        f"({in_force}); la cabeza fue alterada"
    )
    if which == "publicada":
        return HeadRefusal(head.sequence, reason + "; no prueba nada de la bitácora")
    return Break(head.sequence, Problem.FORGED, reason)


def check_head(
    head: ChainHead,
    custody: Custody,
    last_sequence: int,
    hash_at_head: bytes | None,
    found_at: Mapping[bytes, int],
    *,
    published: bool = False,
) -> Break | HeadRefusal | None:
    """Whether the verified log reaches ``head`` exactly (the stored head, or a published one).

    ``hash_at_head`` is the log's hash at the head's sequence (None past the end), ``found_at``
    where the hashes of old-form published heads are in the log.
    """
    if head.sequence == 0:
        return None
    which = "publicada" if published else "registrada"
    broken = _signature_break(head, custody, which, last_sequence)
    if broken is not None:
        return broken
    form = head_form(head)
    if last_sequence < head.sequence:
        missing = (
            f"{last_sequence + 1}"
            if last_sequence + 1 == head.sequence
            else f"{last_sequence + 1} a {head.sequence}"
        )
        if published and last_sequence == 0:
            reason = (
                f"la bitácora está vacía pero se publicó la cabeza {head.sequence}; "
                "se borró toda la bitácora"
            )
        elif published:
            reason = (
                f"la bitácora termina en la entrada {last_sequence} pero se publicó la cabeza "
                f"{head.sequence}; se borraron las entradas {missing} del final"
            )
        else:
            reason = (
                f"la bitácora termina en la entrada {last_sequence} pero la cabeza registrada es "
                f"la {head.sequence}; se borraron las entradas {missing} del final"
            )
        if form is HeadForm.HASH_ONLY and published:
            elsewhere = found_at.get(head.entry_hash)
            if elsewhere is not None:
                return _relabelled(head, elsewhere)
            reason += f" (cabeza de {FORM_TEXT[form]})"
        return Break(last_sequence + 1, Problem.TRUNCATED, reason)
    if hash_at_head == head.entry_hash:
        return None
    if not published:
        reason = "su hash no coincide con el de la cabeza registrada; la bitácora fue reescrita"
    elif form is HeadForm.SIGNED_HEAD:
        reason = (
            f"la entrada {head.sequence} no coincide con la cabeza publicada, que el hub firmó con "
            f"su secuencia ({FORM_TEXT[form]}): la bitácora fue reescrita desde esa entrada o antes"
        )
    else:
        elsewhere = found_at.get(head.entry_hash)
        if elsewhere is not None:
            return _relabelled(head, elsewhere)
        reason = (
            f"la entrada {head.sequence} no coincide con la cabeza publicada ({FORM_TEXT[form]}) "
            "y el hash que el hub firmó no está en ninguna entrada de la bitácora: la bitácora "
            "fue reescrita o recortada"
        )
    return Break(head.sequence, Problem.EDITED, reason)


def _relabelled(head: ChainHead, elsewhere: int) -> HeadRefusal:
    return HeadRefusal(
        head.sequence,
        f"la cabeza publicada de la entrada {head.sequence} es de la "
        f"{FORM_TEXT[HeadForm.HASH_ONLY]}, y el hash que el hub firmó es el de la entrada "
        f"{elsewhere}: alguien le cambió el número de secuencia; no prueba nada de la entrada "
        f"{head.sequence} y la bitácora contiene lo que el hub firmó",
    )
