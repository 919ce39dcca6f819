"""Decoded change-set items as the registry sees them, and the pure helpers that read them.

The shapes are what the Avro ``ChangeSet`` decodes to (plain dicts); ``TypedDict`` costs nothing
at run time, which matters at tens of thousands of items per second.

**Order key.** Items are ordered by ``version(header, item)``: the effective date, then the
change set's ``sent_at`` (UTC), then a digest of the item's identity (agreement, message,
reference). The effective date decides; the send time and the identity only break ties, so every
arrival order and every way of splitting items into batches leads to the same registry state.

It is a fixed-width string of 49 characters, compared in Python only (bytewise): the ISO date
(10), the microseconds from 0001-01-01 to ``sent_at`` in hexadecimal (15), and the first 96 bits
of BLAKE2b over ``agreement \x1f message \x1f reference`` in hexadecimal (24). A padrón row keeps
several of these keys (people, source records and the ledger hold five per new item), so their
size is a large share of what the registry writes per item: the earlier readable form
(``date|sent_at|agreement·message·reference``, ~110 characters) made the registry's rows a fifth
larger (migration 0010 rewrote the stored keys; ties on date and send time, which the readable
form broke by identity, are now broken by its digest). Two different items get the same key only
if they share date, send time to the microsecond and a 96-bit digest.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import unicodedata
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal, NotRequired, TypedDict

__all__ = [
    "Benefit",
    "ChangeItem",
    "ChangeSetHeader",
    "Geography",
    "PersonData",
    "as_utc",
    "centavos",
    "identity_key",
    "normalize_name",
    "sent_key",
    "utc_naive",
    "version",
    "version_prefix",
]

Operation = Literal["ALTA", "CAMBIO", "BAJA", "PAGO"]


class ChangeSetHeader(TypedDict):
    """Header of a change set (one message)."""

    message_id: str
    transaction_id: str
    sender_id: str
    agreement_id: str
    sent_at: dt.datetime
    chunk_index: int
    chunk_count: int
    item_count: int


class PersonData(TypedDict):
    """PUB person fields."""

    curp: str | None
    primer_apellido: str
    segundo_apellido: str | None
    nombre: str
    fecha_nacimiento: dt.date | None
    entidad_nacimiento: str | None
    sexo: str | None
    discapacidad: bool | None
    indigena: bool | None


class Benefit(TypedDict):
    """Program and benefit of an item."""

    clave_programa: str
    tipo_beneficio: str
    monto: Decimal
    fecha_beneficio: dt.date | None
    titular: bool | None


class Geography(TypedDict):
    """INEGI geography and address."""

    cve_ent: str
    cve_mun: str
    cve_loc: str | None
    domicilio: str | None


class ChangeItem(TypedDict):
    """One item of a change set."""

    reference_id: str
    operation: Operation
    effective_date: dt.date
    person: PersonData
    benefit: NotRequired[Benefit | None]
    geography: NotRequired[Geography | None]


_SEP = "\x1f"  # unit separator: cannot be confused with characters of an identifier


def utc_naive(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC without tzinfo (naive values are taken as UTC already)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def as_utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` as an aware UTC datetime (naive values are taken as UTC already)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


_EPOCH = dt.datetime(1, 1, 1)
_MICROSECOND = dt.timedelta(microseconds=1)


def sent_key(sent_at: dt.datetime) -> str:
    """``sent_at`` in UTC as 15 hexadecimal digits of microseconds since 0001-01-01."""
    return f"{(utc_naive(sent_at) - _EPOCH) // _MICROSECOND:015x}"


def identity_key(agreement_id: str, message_id: str, reference_id: str) -> str:
    """The tie-breaking digest of an item's identity (24 hexadecimal digits)."""
    joined = f"{agreement_id}{_SEP}{message_id}{_SEP}{reference_id}".encode()
    return hashlib.blake2b(joined, digest_size=12).hexdigest()


def version_prefix(header: ChangeSetHeader) -> tuple[str, str]:
    """What every item of one change set shares in its order key: (send time, identity prefix)."""
    ident = f"{header['agreement_id']}{_SEP}{header['message_id']}{_SEP}"
    return sent_key(header["sent_at"]), ident


def version(
    header: ChangeSetHeader, item: ChangeItem, prefix: tuple[str, str] | None = None
) -> str:
    """The item's order key (see module docstring); pass ``version_prefix(header)`` in loops."""
    sent, ident = prefix if prefix is not None else version_prefix(header)
    digest = hashlib.blake2b((ident + item["reference_id"]).encode(), digest_size=12).hexdigest()
    return item["effective_date"].isoformat() + sent + digest


@functools.lru_cache(maxsize=1 << 16)
def normalize_name(value: str | None) -> str | None:
    """Uppercase, single spaces, accents removed (Ñ kept): how RENAPO writes names."""
    if value is None:
        return None
    if value.isascii():
        return " ".join(value.upper().split())
    decomposed = unicodedata.normalize("NFD", value.upper())
    kept: list[str] = []
    for char in decomposed:
        if unicodedata.combining(char):
            if char == "\u0303" and kept and kept[-1] == "N":
                kept[-1] = "Ñ"
            continue
        kept.append(char)
    return " ".join("".join(kept).split()) or None


def centavos(amount: Decimal | int | float | None) -> int | None:
    """An amount in pesos as integer centavos (banker's rounding)."""
    if amount is None:
        return None
    exact = Decimal(amount) if not isinstance(amount, Decimal) else amount
    return int((exact * 100).to_integral_value(ROUND_HALF_EVEN))
