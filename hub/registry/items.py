"""Decoded change-set items as the registry sees them, and the pure helpers that read them.

The shapes are what the Avro ``ChangeSet`` decodes to (plain dicts); ``TypedDict`` costs nothing
at run time, which matters at tens of thousands of items per second.

**Order key.** Items are ordered by ``version(header, item)``:
``effective_date | sent_at (UTC) | agreement · message · reference``. The effective date decides;
the send time and the item's identity only break ties, so every arrival order and every way of
splitting items into batches leads to the same registry state. It is a string with fixed-width
date and time prefixes, compared in Python only.
"""

from __future__ import annotations

import datetime as dt
import functools
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
    "normalize_name",
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


def version_prefix(header: ChangeSetHeader) -> str:
    """The part of the order key every item of one change set shares (after the date)."""
    sent = utc_naive(header["sent_at"]).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return f"|{sent}|{header['agreement_id']}{_SEP}{header['message_id']}{_SEP}"


def version(header: ChangeSetHeader, item: ChangeItem, prefix: str | None = None) -> str:
    """The item's order key (see module docstring); pass ``version_prefix(header)`` in loops."""
    if prefix is None:
        prefix = version_prefix(header)
    return item["effective_date"].isoformat() + prefix + item["reference_id"]


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
