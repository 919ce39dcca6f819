"""Who an item is about: people, source records and their links, planned in memory (pure).

Rules (each decided by the order key, so arrival order does not matter):

- An item with a CURP is about the person with that CURP (created when unknown). Identity
  resolution proper (probabilistic matching) is a later stage; here the CURP is the only link.
- An item without a CURP is about its source record's person; a record first seen without CURP
  gets a person of its own (link method ``registro``).
- A record is relinked to another CURP only by an item newer than the one that decided its current
  link; an item without CURP never unlinks. A record-scoped person that gets a CURP no one else has
  keeps its registry id; one left without links is removed.
- A person's fields are the newest item's (by order key) among the items linked to it.

CURP corrections (never merge two different valid CURPs; a folio is not reused for someone else):
an item whose CURP differs from the one its source record already has is applied only when it is
an ALTA or CAMBIO about *the same person*: the same birth date and the same sex (every value known
agrees: the ones declared in the item and stored for the person, and the ones encoded in both
CURPs) and the same first surname or the same given name (normalized). A newer one corrects the
CURP (the record is relinked: ``RECORD_RELINKED``); an older one leaves the link as it is. Any
other such item — a PAGO or BAJA, or an item about another person, newer or older — is refused
(:attr:`LinkPlan.refused`, with a reason in Spanish for the agency): nothing of the record or of
either person changes. A refusal depends on what the registry holds when the item arrives.

A record first seen without CURP that later gets a CURP somebody already has joins that person
(``RECORD_RELINKED``, motive ``curp_conocida``) unless its stored person clearly is someone else
(:func:`clearly_other`): another birth date or sex (each side's stored value, else the one her
CURP encodes; unknown values never refuse), or neither the same first surname nor the same given
name. Such an item is refused like a CURP correction about another person: nothing changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.registry.fresh import new_person_id
from hub.registry.items import ChangeItem, as_utc, normalize_name
from hub.validation.curp import decode_curp

__all__ = ["LinkPlan", "Relink", "clean_curp", "clearly_other", "same_person"]

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Relink:
    """A source record that moves from one person to another."""

    reference_id: str
    old_person_id: str
    new_person_id: str
    old_curp: str | None = None  # None: the old person was the record's own (no CURP)
    new_curp: str | None = None


def _person_fields(item: ChangeItem) -> Row:
    person = item["person"]
    return {
        "primer_apellido": normalize_name(person["primer_apellido"]),
        "segundo_apellido": normalize_name(person.get("segundo_apellido")),
        "nombre": normalize_name(person["nombre"]),
        "fecha_nacimiento": person.get("fecha_nacimiento"),
        "entidad_nacimiento": person.get("entidad_nacimiento"),
        "sexo": person.get("sexo"),
        "discapacidad": person.get("discapacidad"),
        "indigena": person.get("indigena"),
    }


def clean_curp(item: ChangeItem) -> str | None:
    """The item's CURP, uppercase and trimmed, or None."""
    curp = item["person"].get("curp")
    if not curp:
        return None
    return curp.strip().upper() or None


_CORRECTIONS = frozenset({"ALTA", "CAMBIO"})


def _encoded(curp: str | None) -> tuple[dt.date | None, str | None]:
    """Birth date and sex a CURP encodes (None, None when it cannot be read)."""
    if not curp:
        return None, None
    try:
        parts = decode_curp(curp)
    except ValueError:
        return None, None
    return parts.birth_date, parts.sex


def _agree(*values: object) -> bool:
    """At least one value is known and every known value is the same."""
    known = {v for v in values if v is not None}
    return len(known) == 1


def same_person(person: Mapping[str, Any], item: ChangeItem, curp: str) -> bool:
    """Whether ``item`` (with CURP ``curp``) is plausibly about the registered ``person``.

    Same birth date and sex (declared or stored, and encoded in both CURPs: every known value
    agrees) and the same first surname or the same given name after normalization.
    """
    declared = item["person"]
    old_born, old_sex = _encoded(person.get("curp"))
    new_born, new_sex = _encoded(curp)
    born = _agree(
        person.get("fecha_nacimiento"), old_born, declared.get("fecha_nacimiento"), new_born
    )
    sex = _agree(person.get("sexo"), old_sex, declared.get("sexo"), new_sex)
    surname = normalize_name(declared.get("primer_apellido"))
    name = normalize_name(declared.get("nombre"))
    named = (surname is not None and surname == person.get("primer_apellido")) or (
        name is not None and name == person.get("nombre")
    )
    return born and sex and named


def _differ(a: object, b: object) -> bool:
    return a is not None and b is not None and a != b


def clearly_other(stored: Mapping[str, Any], holder: Mapping[str, Any]) -> bool:
    """Whether two registered people (rows of ``people``) are clearly not the same person.

    Another birth date or sex (a stored value, else the one the person's CURP encodes; an unknown
    value never tells them apart), or neither the same first surname nor the same given name.
    """
    born: list[object] = []
    sex: list[object] = []
    for person in (stored, holder):
        encoded_born, encoded_sex = _encoded(person.get("curp"))
        born.append(person.get("fecha_nacimiento") or encoded_born)
        sex.append(person.get("sexo") or encoded_sex)
    surnames = (stored.get("primer_apellido"), holder.get("primer_apellido"))
    names = (stored.get("nombre"), holder.get("nombre"))
    unnamed = _differ(*surnames) and _differ(*names)
    return _differ(*born) or _differ(*sex) or unnamed


@dataclass
class LinkPlan:
    """People and source records of one agreement as a batch of items leaves them."""

    agreement_id: str
    now: dt.datetime  # aware UTC, like every time the plan holds
    people: dict[str, Row] = field(default_factory=dict)
    records: dict[str, Row] = field(default_factory=dict)
    new_people: set[str] = field(default_factory=set)
    dirty_people: set[str] = field(default_factory=set)
    new_records: set[str] = field(default_factory=set)
    dirty_records: set[str] = field(default_factory=set)
    relinks: list[Relink] = field(default_factory=list)
    removed_people: set[str] = field(default_factory=set)  # left without records by a relink
    changed_links: set[str] = field(default_factory=set)  # existing records whose link changed
    #: items refused (reference → reason in Spanish): another CURP that is no correction
    refused: dict[str, str] = field(default_factory=dict)
    _by_curp: dict[str, str] = field(default_factory=dict)

    def load(
        self, people: Iterable[Mapping[str, Any]], records: Iterable[Mapping[str, Any]]
    ) -> None:
        """Start from the stored rows of the people and records the batch touches."""
        for row in people:
            self.people[row["id"]] = dict(row)
            if row["curp"] is not None:
                self._by_curp[row["curp"]] = row["id"]
        for row in records:
            record = dict(row)
            record["first_seen_at"] = as_utc(record["first_seen_at"])
            record["last_seen_at"] = as_utc(record["last_seen_at"])
            self.records[row["reference_id"]] = record

    def _new_person(self, item: ChangeItem, curp: str | None, ver: str) -> str:
        person_id = new_person_id()
        row = _person_fields(item)
        row.update(id=person_id, curp=curp, version=ver, created_at=self.now, updated_at=self.now)
        self.people[person_id] = row
        self.new_people.add(person_id)
        if curp is not None:
            self._by_curp[curp] = person_id
        return person_id

    def _link_curp(self, record: Row, curp: str, ver: str, item: ChangeItem) -> None:
        old_id: str = record["person_id"]
        target = self._by_curp.get(curp)
        if target is None:
            old = self.people[old_id]
            if old["curp"] is None:  # a record-scoped person learns its CURP: same registry id
                old["curp"] = curp
                self._by_curp[curp] = old_id
                self._touch_person(old_id)
                target = old_id
            else:
                target = self._new_person(item, curp, ver)
        record.update(person_id=target, curp=curp, link_version=ver)
        ref = record["reference_id"]
        if ref not in self.new_records:
            self.changed_links.add(ref)
        if target != old_id:  # the old person may be left without records: the writer checks
            self.relinks.append(Relink(ref, old_id, target, self.people[old_id]["curp"], curp))

    def _touch_person(self, person_id: str) -> None:
        if person_id not in self.new_people:
            self.dirty_people.add(person_id)

    def _conflict(self, record: Row, item: ChangeItem, curp: str) -> str | None:
        """Why an item with another CURP than its record's cannot be applied (None: it can)."""
        ref = record["reference_id"]
        registered = record["curp"]
        operation = item["operation"]
        if not same_person(self.people[record["person_id"]], item, curp):
            return (
                f"la referencia {ref} ya corresponde a otra persona (CURP registrada "
                f"{registered}, recibida {curp}); si es una persona distinta use otra "
                "referencia; si corrige la CURP, envíe un CAMBIO con los datos de la persona "
                "(misma fecha de nacimiento y sexo, y el mismo primer apellido o nombre)"
            )
        if operation not in _CORRECTIONS:
            return (
                f"un {operation} no corrige la CURP de la referencia {ref} (CURP registrada "
                f"{registered}, recibida {curp}); envíelo con la CURP registrada o, si la CURP "
                "cambió, envíe antes un CAMBIO con la CURP corregida"
            )
        return None

    def _joins_other(self, record: Row, curp: str) -> str | None:
        """Why a record without CURP cannot join the person who holds ``curp`` (None: it can)."""
        holder = self._by_curp.get(curp)
        if holder is None or not clearly_other(
            self.people[record["person_id"]], self.people[holder]
        ):
            return None
        ref = record["reference_id"]
        return (
            f"la referencia {ref} se registró sin CURP para una persona cuyos datos (nombre, "
            f"fecha de nacimiento o sexo) no coinciden con los de quien ya tiene la CURP {curp}; "
            "si es una persona distinta use otra referencia o revise la CURP; si es la misma "
            "persona, corrija antes sus datos con un CAMBIO sin CURP y después envíe la CURP"
        )

    def apply(self, ver: str, item: ChangeItem, sent_at: dt.datetime) -> str | None:
        """Apply one item (call in order-key order); returns the person it is about.

        None: the item is refused (see :attr:`refused`) and nothing changed.
        """
        ref = item["reference_id"]
        curp = clean_curp(item)
        geography = item.get("geography")
        record = self.records.get(ref)
        if record is not None and curp is not None and record["curp"] != curp:
            if record["curp"] is None:
                reason = self._joins_other(record, curp)
            else:
                reason = self._conflict(record, item, curp)
            if reason is not None:
                self.refused[ref] = reason
                return None
        if record is None:
            person_id = self._by_curp.get(curp) if curp else None
            if person_id is None:
                person_id = self._new_person(item, curp, ver)
            record = {
                "agreement_id": self.agreement_id,
                "reference_id": ref,
                "person_id": person_id,
                "curp": curp,
                "link_version": ver,
                "version": ver,
                "geo_version": ver if geography else None,
                "cve_ent": geography["cve_ent"] if geography else None,
                "cve_mun": geography["cve_mun"] if geography else None,
                "cve_loc": geography.get("cve_loc") if geography else None,
                "domicilio": geography.get("domicilio") if geography else None,
                "active": False,
                "first_seen_at": sent_at,
                "last_seen_at": sent_at,
            }
            self.records[ref] = record
            self.new_records.add(ref)
        else:
            if ref not in self.new_records:
                self.dirty_records.add(ref)
            if curp is not None:
                if record["curp"] is None or (
                    curp != record["curp"] and ver > record["link_version"]
                ):
                    self._link_curp(record, curp, ver, item)
                elif curp == record["curp"] and ver > record["link_version"]:
                    record["link_version"] = ver
            if ver > record["version"]:
                record["version"] = ver
            if geography and (record["geo_version"] is None or ver > record["geo_version"]):
                record.update(
                    geo_version=ver,
                    cve_ent=geography["cve_ent"],
                    cve_mun=geography["cve_mun"],
                    cve_loc=geography.get("cve_loc"),
                    domicilio=geography.get("domicilio"),
                )
            record["first_seen_at"] = min(record["first_seen_at"], sent_at)
            record["last_seen_at"] = max(record["last_seen_at"], sent_at)
        person_id = record["person_id"]
        person = self.people[person_id]
        if ver > person["version"]:
            person.update(_person_fields(item), version=ver, updated_at=self.now)
            self._touch_person(person_id)
        return str(person_id)
