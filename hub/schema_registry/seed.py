"""Seed the registry from the contract catalog: only what the registry never held.

The seed runs at every ``sisi hub`` and ``sisi schemas serve`` start, so it must never undo what
the operator did through the registry since:

- A catalog version is registered only if the registry never stored its schema. A version the
  operator soft-deleted stays deleted (its row is still there), and so does one deleted
  permanently: a permanent delete removes the subject version but not the schema (its id stays
  readable), and the seed takes the stored schema as proof that the version was registered once
  and removed on purpose. The same holds when the operator registered the schema under another
  subject only: the seed reports it and leaves it. To bring a version back deliberately the
  operator registers it again: ``sisi schemas register SUBJECT avro_schemas/SUBJECT/vN.avsc``
  (or ``POST /subjects/{subject}/versions`` with the operator token); it becomes a new version
  with the same schema id.
- A subject's compatibility level from ``subject.yaml`` is written only when the seed creates the
  subject (registers into a subject with no versions, not even deleted ones) and the subject has
  no level of its own. A level set or removed over REST is never overwritten.
- The registry's state never stops the start: a version its subject's mode refuses (for
  instance after the operator registered an incompatible version by hand) is reported in Spanish
  in ``SeedResult.conflicts`` and in the log, and the seed goes on with the next subject. The
  later catalog versions of that subject are not registered either (they build on the refused
  one).

On a fresh database every catalog version is registered in catalog order (subjects sorted,
versions v1..vN), so schema ids are the same on every installation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from hub.contracts.catalog import Catalog, SchemaVersion, Subject
from hub.errors import ContractError, IncompatibleSchemaError
from hub.schema_registry.errors import RegistryError
from hub.schema_registry.store import RegisteredSchema, SchemaStore

__all__ = ["SeedResult", "seed_from_catalog"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeedResult:
    """What a seed did.

    ``registered``: versions it registered now. ``existing``: catalog versions the registry holds
    under their subject (live or soft-deleted). ``withheld``: catalog versions it did not register
    because the registry held their schema once (removed on purpose, or under another subject
    only), one message each. ``conflicts``: versions the registry refused, one message each.
    ``notes``: other differences worth knowing (levels or version numbers that differ from
    ``avro_schemas/``).
    """

    registered: tuple[RegisteredSchema, ...]
    existing: tuple[RegisteredSchema, ...]
    withheld: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass
class _Outcome:
    registered: list[RegisteredSchema]
    existing: list[RegisteredSchema]
    withheld: list[str]
    conflicts: list[str]
    notes: list[str]


def seed_from_catalog(store: SchemaStore, catalog: Catalog) -> SeedResult:
    """Register the catalog versions the registry never held (see the module's docstring).

    Running it again changes nothing; it raises only on database errors, never because of what
    the registry holds.
    """
    outcome = _Outcome([], [], [], [], [])
    for subject in catalog:
        _seed_subject(store, subject, outcome)
    for message in outcome.withheld:
        _log.info("%s", message)
    for message in outcome.notes:
        _log.info("%s", message)
    for message in outcome.conflicts:
        _log.warning("%s", message)
    return SeedResult(
        tuple(outcome.registered),
        tuple(outcome.existing),
        tuple(outcome.withheld),
        tuple(outcome.conflicts),
        tuple(outcome.notes),
    )


def _seed_subject(store: SchemaStore, subject: Subject, outcome: _Outcome) -> None:
    history = list(store.registered(subject.name, deleted=True))
    for version in subject.versions:
        held = store.held_schema(version.canonical)
        if held is not None:
            mine = [row for row in history if row.id == held.id]
            if mine:
                outcome.existing.append(mine[-1])
            else:
                outcome.withheld.append(_withheld(store, version, held.id))
            continue
        if not history:
            _give_level(store, subject, outcome)
        try:
            result = store.register(subject.name, version.canonical)
        except (IncompatibleSchemaError, RegistryError) as exc:
            outcome.conflicts.append(_conflict(subject, version, exc))
            return
        history.append(result)
        outcome.registered.append(result)
        if result.version != version.version:
            outcome.notes.append(
                f"{_file(version)} quedó registrada como versión {result.version} de "
                f"{subject.name} (id {result.id}): los convenios que la permitan deben citar "
                f"la versión {result.version}."
            )


def _give_level(store: SchemaStore, subject: Subject, outcome: _Outcome) -> None:
    """A new subject gets its ``subject.yaml`` level unless the operator gave it one first."""
    level = store.set_config_if_absent(subject.compatibility.value, subject.name)
    if level is not subject.compatibility:
        outcome.notes.append(
            f"el subject {subject.name} ya tenía nivel de compatibilidad {level.value} en el "
            f"registro; avro_schemas/ dice {subject.compatibility.value}: se conserva "
            f"{level.value} (cámbielo con PUT /config/{subject.name} si hace falta)."
        )


def _file(version: SchemaVersion) -> str:
    """The version's file, relative to the working directory when it lies below it."""
    path = version.path.absolute()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _withheld(store: SchemaStore, version: SchemaVersion, schema_id: int) -> str:
    elsewhere = sorted({s for s, _ in store.schema_versions(schema_id, deleted=True)})
    where = (
        f"sólo está registrado en {', '.join(elsewhere)}"
        if elsewhere
        else f"su versión en {version.subject} se borró definitivamente"
    )
    return (
        f"{_file(version)} no se registra de nuevo: el registro ya tuvo su esquema (id "
        f"{schema_id}) y {where}. Si debe volver: sisi schemas register {version.subject} "
        f"{_file(version)}"
    )


def _conflict(subject: Subject, version: SchemaVersion, exc: ContractError) -> str:
    later = len(subject.versions) - version.version
    rest = f" (ni las {later} siguientes)" if later else ""
    return (
        f"conflicto en el registro de esquemas: {_file(version)} no se registró{rest} y se "
        f"sigue con lo que el registro ya tiene para {subject.name}. Revise sus versiones "
        f"(GET /subjects/{subject.name}/versions?deleted=true) y su nivel "
        f"(GET /config/{subject.name}); corrija el contrato o el registro y reinicie, o "
        f"registre la versión a mano con sisi schemas register. Causa: {exc.render()}"
    )
