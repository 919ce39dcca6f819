"""Agreement and contract changes in the audit log: altas, modificaciones, bajas, new versions.

An agreement file loaded by the hub is recorded as ``AGREEMENT_CHANGED``: ``alta`` the first
time its id is seen (or again after a baja), ``modificación`` when its bytes differ from the last
recorded ones, ``baja`` when a recorded id is no longer in force (with a ``reason`` when its
file does not load). The details name the file, the SHA-256 of the exact bytes the gatekeeper
parsed (kept in the loaded set, never re-read when recording: the entry shows what judged
messages) and the terms an auditor compares: status, validity, key fingerprint and public key,
programs, contract versions, scope and sensitive fields; a modificación lists ``changed_terms``.
Each entry's idempotency key is built from the agreement id,
that digest and the sequence of the entry it follows, so the same change is recorded once
however many workers or restarts see it, and a change back to an earlier content (a reverted
edit) is still recorded. The decision is taken again under the audit log's lock before writing,
so two workers that notice one edit append one entry. In the same transaction the exact bytes of
each version in force are stored (``hub.worker.versions``), so that a file that later breaks keeps
that version in force after a restart; a process that puts such a stored version in force
records it once as ``AGREEMENT_LOADED`` (the file, the line and field of its first error, the
version kept). The details carry the agreement's ``kind`` too, so a worker started after the file
was removed knows whether to keep consuming its topic (``hub.worker.removed``).

Every (subject, version) of the Schema Registry tables is recorded once as
``CONTRACT_REGISTERED`` (key: subject, version and the schema's fingerprint), whatever path
registered it: the seed from ``avro_schemas/``, the REST API or ``sisi schemas register``. A
version deleted from the registry is recorded once as ``CONTRACT_DELETED``: ``lógica`` when it is
soft-deleted (the row stays, marked), ``definitiva`` when a version the log recorded is no longer
in the tables at all. A subject's compatibility mode set or removed (``PUT``/``DELETE
/config/{subject}``, the global one too) is recorded once as ``CONTRACT_CONFIG_CHANGED`` with the
previous and the new mode (``(global)``: no mode of its own). Each look also tells the
gatekeeper's schema cache what the registry holds
now, so that a deleted version stops being accepted without a restart.

The worker records both when it starts (:func:`record_at_start`), records the agreements whenever
the gatekeeper loads a new set, before judging any message by it (in
``HubPipeline.process_batch``), and looks at both on its ``agreements-watch`` timer
(:func:`watch_changes`), so an idle worker records an edit within seconds too.
Deciding what to record is pure (:func:`agreement_events`, :func:`contract_events`); reading the
directory and the tables, and appending, are the adapters below them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import weakref
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, select
from sqlalchemy.engine import Engine

from hub.agreements.keys import key_id
from hub.agreements.loader import AgreementSet, BrokenFile
from hub.agreements.model import Agreement
from hub.audit.chain import Action, AuditEntry, AuditEvent, format_timestamp
from hub.audit.store import AuditLog, audit_chain_head, audit_log
from hub.gatekeeper.inspector import Gatekeeper, SchemaSource
from hub.registry.bulk import begin_write
from hub.registry.programs import ProgramEntry, seed_programs
from hub.schema_registry.tables import RegistryConfig, RegistrySchema, SubjectVersion
from hub.worker.versions import store_versions, stored_keys

__all__ = [
    "AGREEMENTS_ACTOR",
    "ALTA",
    "BAJA",
    "CONTRACTS_ACTOR",
    "DEFINITIVA",
    "GLOBAL_SUBJECT",
    "LOGICA",
    "MODIFICACION",
    "NO_OWN_MODE",
    "AgreementFile",
    "ConfigChange",
    "ContractVersion",
    "LastChange",
    "agreement_events",
    "agreement_terms",
    "config_events",
    "contract_deletion_key",
    "contract_events",
    "contract_key",
    "kept_events",
    "last_changes",
    "last_config_changes",
    "read_agreement_files",
    "read_contract_config",
    "read_contract_versions",
    "record_agreement_changes",
    "record_at_start",
    "record_contract_changes",
    "registry_state",
    "watch_changes",
]

_log = logging.getLogger(__name__)

#: Who the audit log names for the agreement changes the hub notices.
AGREEMENTS_ACTOR = "sisi-hub/convenios"
#: Who the audit log names for the contract versions the hub notices.
CONTRACTS_ACTOR = "sisi-hub/contratos"

ALTA = "alta"
MODIFICACION = "modificación"
BAJA = "baja"
_KEY_WORD = {ALTA: "alta", MODIFICACION: "modificacion", BAJA: "baja"}
#: How a contract version left the registry: soft-deleted (marked) or removed for good.
LOGICA = "lógica"
DEFINITIVA = "definitiva"
_DELETION_WORD = {LOGICA: "logica", DEFINITIVA: "definitiva"}


@dataclass(frozen=True)
class AgreementFile:
    """An agreement as loaded: its id, file name, the SHA-256 of the bytes parsed, its terms.

    ``terms`` are what an auditor compares between versions (status, validity, the public key
    and its fingerprint, programs, contract versions, scope fields and sensitive fields), as text.
    """

    agreement_id: str
    file: str
    sha256: str
    status: str
    valid_from: str
    valid_until: str
    terms: Mapping[str, str] = field(default_factory=dict, compare=False)


#: The terms compared between two versions of an agreement (``changed_terms``).
_COMPARED = (
    "kind",
    "status",
    "valid_from",
    "valid_until",
    "environment",
    "key_id",
    "public_key",
    "signing_keys",
    "programs",
    "contracts",
    "scope_fields",
    "sensitive_fields",
)


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    if moment == dt.datetime.min.replace(tzinfo=dt.UTC):
        return "siempre"
    return moment.isoformat()


def _signing_keys(agreement: Agreement) -> str:
    """Every key the agreement accepts, ``key_id[desde..hasta](revocada ...)``, ``;``-separated:
    a rotation or a revocation is a change of terms even when the newest key stays the same."""
    parts = []
    for key in agreement.signing_keys:
        text = f"{key.key_id}[{_when(key.valid_from)}..{_when(key.valid_until)}]"
        if key.revoked_at is not None:
            text += f"(revocada {_when(key.revoked_at)})"
        parts.append(text)
    return ";".join(parts)


def agreement_terms(agreement: Agreement) -> dict[str, str]:
    """An agreement's audited terms as text (lists comma-separated, contracts ``subject:v1,v2``).

    ``kind`` (padrón or encuesta) tells a later worker whether to keep consuming the agreement's
    topic once its file is gone (``hub.worker.removed``)."""
    return {
        "kind": agreement.kind,
        "status": agreement.status,
        "valid_from": agreement.valid_from.isoformat(),
        "valid_until": agreement.valid_until.isoformat(),
        "environment": agreement.environment,
        "key_id": key_id(agreement.public_key),
        "public_key": agreement.public_key,
        "signing_keys": _signing_keys(agreement),
        "programs": ",".join(agreement.program_keys),
        "contracts": ";".join(
            f"{c.subject}:{','.join(str(v) for v in c.versions)}" for c in agreement.contracts
        ),
        "scope_fields": ",".join(agreement.scope.fields),
        "sensitive_fields": ",".join(agreement.scope.sensitive),
    }


@dataclass(frozen=True)
class LastChange:
    """The latest ``AGREEMENT_CHANGED`` entry of an agreement id (``details``: all of it)."""

    sequence: int
    change: str
    file: str
    sha256: str
    details: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class ContractVersion:
    """A (subject, version) of the Schema Registry and the schema it names."""

    subject: str
    version: int
    schema_id: int
    sha256: str  # the registry's fingerprint: SHA-256 of the schema's canonical text
    registered_at: dt.datetime | None
    deleted: bool = False  # soft-deleted: still in the tables, no longer offered


# -- pure decisions ----------------------------------------------------------------------------


def last_changes(
    rows: Iterable[tuple[int, str | None, Mapping[str, str]]],
) -> dict[str, LastChange]:
    """The latest change of each agreement from ``(sequence, agreement_id, details)`` entries."""
    latest: dict[str, LastChange] = {}
    for sequence, agreement_id, details in sorted(rows, key=lambda row: row[0]):
        change, digest = details.get("change"), details.get("sha256")
        if not agreement_id or change not in _KEY_WORD or not digest:
            continue  # not an entry of this module's shape
        latest[agreement_id] = LastChange(
            sequence, change, details.get("file", ""), digest, dict(details)
        )
    return latest


def _agreement_event(
    agreement_id: str, change: str, digest: str, before: LastChange | None, details: dict[str, str]
) -> AuditEvent:
    follows = before.sequence if before is not None else 0
    return AuditEvent(
        actor=AGREEMENTS_ACTOR,
        action=Action.AGREEMENT_CHANGED,
        agreement_id=agreement_id,
        details=details,
        key=f"convenio:{agreement_id}:{_KEY_WORD[change]}:{digest}:{follows}",
    )


def agreement_events(
    current: Mapping[str, AgreementFile],
    last: Mapping[str, LastChange],
    broken_files: Collection[str] = (),
) -> list[AuditEvent]:
    """What the log lacks for the agreements ``current``ly loaded, given each id's ``last`` change.

    Altas and modificaciones in id order (a modificación names the ``changed_terms``), then bajas
    of recorded ids no longer loaded; a baja whose file is among ``broken_files`` (names of files
    that do not load) says so.
    """
    events: list[AuditEvent] = []
    for agreement_id in sorted(current):
        loaded = current[agreement_id]
        before = last.get(agreement_id)
        if before is None or before.change == BAJA:
            change = ALTA
        elif before.sha256 == loaded.sha256:
            continue
        else:
            change = MODIFICACION
        details = {
            "change": change,
            "file": loaded.file,
            "sha256": loaded.sha256,
            "status": loaded.status,
            "valid_from": loaded.valid_from,
            "valid_until": loaded.valid_until,
            **loaded.terms,
        }
        if change == MODIFICACION:
            assert before is not None
            details["previous_sha256"] = before.sha256
            changed = [
                term
                for term in _COMPARED
                if term in details
                and term in before.details
                and details[term] != before.details[term]
            ]
            if loaded.file != before.file:
                changed.insert(0, "file")
            details["changed_terms"] = ",".join(changed)
        events.append(_agreement_event(agreement_id, change, loaded.sha256, before, details))
    for agreement_id in sorted(set(last) - set(current)):
        before = last[agreement_id]
        if before.change == BAJA:
            continue
        details = {"change": BAJA, "file": before.file, "sha256": before.sha256}
        if before.details.get("kind"):
            details["kind"] = before.details["kind"]
        if before.file in broken_files:
            details["reason"] = "el archivo del convenio tiene errores y no se cargó"
        events.append(_agreement_event(agreement_id, BAJA, before.sha256, before, details))
    return events


def kept_key(item: BrokenFile, last: Mapping[str, LastChange]) -> str | None:
    """The idempotency key of the ``AGREEMENT_LOADED`` entry of a broken file whose last good
    version was put in force from the stored versions (None otherwise): the agreement, the
    version kept, the bytes that failed and the ``AGREEMENT_CHANGED`` entry it follows."""
    kept = item.previous
    if kept is None or not kept.stored:
        return None
    before = last.get(kept.agreement.id)
    follows = before.sequence if before is not None else 0
    failed = item.sha256 or "ilegible"
    return f"convenio-vigente:{kept.agreement.id}:{kept.sha256}:{failed}:{follows}"


def kept_events(
    broken: Iterable[BrokenFile], last: Mapping[str, LastChange], logged: Collection[str]
) -> list[AuditEvent]:
    """``AGREEMENT_LOADED`` for each broken file whose last good version a process put in force
    from the versions the hub stored (after a restart, in a new worker), once per state (its key
    not ``logged``): which file, its first error (line and field), the version in force. A
    version kept in the memory of the process that loaded it is not recorded again: the log
    already names it as the agreement's latest version."""
    events: list[AuditEvent] = []
    for item in broken:
        key = kept_key(item, last)
        if key is None or key in logged:
            continue
        kept = item.previous
        assert kept is not None
        issue = item.error.issues[0]
        details = {
            "file": item.path.name,
            "sha256": kept.sha256,
            "failed_sha256": item.sha256 or "",
            "error": issue.render(),
            "errors": str(len(item.error.issues)),
            "source": "versión guardada por el hub",
            "reason": "el archivo del convenio tiene errores; sigue en vigor su última versión "
            "buena",
        }
        if issue.line is not None:
            details["line"] = str(issue.line)
        if issue.field:
            details["field"] = issue.field
        events.append(
            AuditEvent(
                actor=AGREEMENTS_ACTOR,
                action=Action.AGREEMENT_LOADED,
                agreement_id=kept.agreement.id,
                details=details,
                key=key,
            )
        )
    return events


def contract_key(version: ContractVersion) -> str:
    """The idempotency key of a contract version's entry (a reused number with another schema
    gets another key)."""
    return f"contrato:{version.subject}:{version.version}:{version.sha256}"


def contract_deletion_key(version: ContractVersion, deletion: str) -> str:
    """The idempotency key of a contract version's ``CONTRACT_DELETED`` entry (``deletion``:
    :data:`LOGICA` or :data:`DEFINITIVA`)."""
    word = _DELETION_WORD[deletion]
    return f"contrato-baja:{version.subject}:{version.version}:{version.sha256}:{word}"


def _contract_details(version: ContractVersion) -> dict[str, str]:
    details = {
        "subject": version.subject,
        "version": str(version.version),
        "schema_id": str(version.schema_id),
        "sha256": version.sha256,
    }
    if version.registered_at is not None:
        details["registered_at"] = format_timestamp(version.registered_at)
    return details


def contract_events(
    versions: Iterable[ContractVersion],
    logged: Collection[str],
    recorded: Iterable[ContractVersion] = (),
) -> list[AuditEvent]:
    """What the log lacks for the registry's ``versions`` (soft-deleted ones included).

    ``CONTRACT_REGISTERED`` for each version whose key is not ``logged``, then
    ``CONTRACT_DELETED`` (``lógica``) for each soft-deleted version, then ``CONTRACT_DELETED``
    (``definitiva``) for each version the log ``recorded`` as registered that is no longer in the
    tables; each once (its key not ``logged``), in the registry's order.
    """
    events: list[AuditEvent] = []
    deletions: list[tuple[ContractVersion, str]] = []
    present: set[str] = set()
    for version in versions:
        key = contract_key(version)
        present.add(key)
        if key not in logged:
            events.append(
                AuditEvent(
                    actor=CONTRACTS_ACTOR,
                    action=Action.CONTRACT_REGISTERED,
                    details=_contract_details(version),
                    key=key,
                )
            )
        if version.deleted:
            deletions.append((version, LOGICA))
    gone: set[str] = set()
    for version in recorded:
        key = contract_key(version)
        if key not in present and key not in gone:
            gone.add(key)
            deletions.append((version, DEFINITIVA))
    for version, deletion in deletions:
        key = contract_deletion_key(version, deletion)
        if key in logged:
            continue
        details = _contract_details(version)
        details.pop("registered_at", None)
        details["deletion"] = deletion
        events.append(
            AuditEvent(
                actor=CONTRACTS_ACTOR, action=Action.CONTRACT_DELETED, details=details, key=key
            )
        )
    return events


#: How the registry's compatibility config names the global level (``sr_config.subject``).
GLOBAL_SUBJECT = ""
#: The mode recorded when a subject has no level of its own (it follows the global one).
NO_OWN_MODE = "(global)"


@dataclass(frozen=True)
class ConfigChange:
    """The latest ``CONTRACT_CONFIG_CHANGED`` entry of a subject: its sequence and mode."""

    sequence: int
    compatibility: str


def last_config_changes(
    rows: Iterable[tuple[int, Mapping[str, str]]],
) -> dict[str, ConfigChange]:
    """The latest recorded mode of each subject from ``(sequence, details)`` entries."""
    latest: dict[str, ConfigChange] = {}
    for sequence, details in sorted(rows, key=lambda row: row[0]):
        subject, mode = details.get("subject"), details.get("compatibility")
        if subject is None or not mode:
            continue  # not an entry of this module's shape
        latest[subject] = ConfigChange(sequence, mode)
    return latest


def config_events(current: Mapping[str, str], last: Mapping[str, ConfigChange]) -> list[AuditEvent]:
    """What the log lacks for the registry's compatibility ``current``ly set (subject -> mode;
    the global level under :data:`GLOBAL_SUBJECT`), given each subject's ``last`` recorded mode.

    A subject whose own level was removed is recorded once with mode :data:`NO_OWN_MODE`. The
    idempotency key names the subject, the new mode and the entry it follows, so workers that
    see one change record it once and a change back to an earlier mode is recorded too.
    """
    events: list[AuditEvent] = []
    subjects = sorted(set(current) | {s for s, c in last.items() if c.compatibility != NO_OWN_MODE})
    for subject in subjects:
        mode = current.get(subject, NO_OWN_MODE)
        before = last.get(subject)
        if before is not None and before.compatibility == mode:
            continue
        if before is None and mode == NO_OWN_MODE:
            continue
        follows = before.sequence if before is not None else 0
        details = {
            "subject": subject,
            "previous_compatibility": before.compatibility if before is not None else "",
            "compatibility": mode,
        }
        if subject == GLOBAL_SUBJECT:
            details["level"] = "global"
        events.append(
            AuditEvent(
                actor=CONTRACTS_ACTOR,
                action=Action.CONTRACT_CONFIG_CHANGED,
                details=details,
                key=f"contrato-config:{subject}:{mode}:{follows}",
            )
        )
    return events


# -- adapters ----------------------------------------------------------------------------------


def read_agreement_files(agreements: AgreementSet) -> dict[str, AgreementFile]:
    """Each agreement in force with the digest of the bytes it was parsed from (not re-read)."""
    files: dict[str, AgreementFile] = {}
    for loaded in agreements.loaded():
        agreement = loaded.agreement
        files[agreement.id] = AgreementFile(
            agreement.id,
            loaded.path.name,
            loaded.sha256,
            agreement.status,
            agreement.valid_from.isoformat(),
            agreement.valid_until.isoformat(),
            agreement_terms(agreement),
        )
    return files


def _read_history(conn: Connection) -> dict[str, LastChange]:
    query = (
        select(audit_log.c.sequence, audit_log.c.agreement_id, audit_log.c.details)
        .where(audit_log.c.action == Action.AGREEMENT_CHANGED.value)
        .order_by(audit_log.c.sequence)
    )
    rows = [
        (row.sequence, row.agreement_id, json.loads(row.details)) for row in conn.execute(query)
    ]
    return last_changes(rows)


def _lock_log(conn: Connection) -> None:
    """Take the audit log's append lock in ``conn``'s transaction before reading its state."""
    if conn.dialect.name == "sqlite":
        begin_write(conn)
        return
    query = select(audit_chain_head.c.sequence).where(audit_chain_head.c.id == 1)
    conn.execute(query.with_for_update()).one()


def record_agreement_changes(
    engine: Engine, audit: AuditLog, agreements: AgreementSet
) -> list[AuditEntry]:
    """Append what the log lacks for the ``agreements`` loaded now; the entries added.

    A first look without locking finds nothing to do in the usual case; otherwise the decision is
    taken again under the log's lock, in the transaction that appends. The registry's program
    catalog gets the agreements' programs (key, name, CONEVAL key) first: the registry writer
    only knows a program's key.
    """
    seed_programs(
        engine, [ProgramEntry(p.key, p.name, p.coneval_key) for a in agreements for p in a.programs]
    )
    current = read_agreement_files(agreements)
    broken_files = agreements.broken
    broken = {item.path.name for item in broken_files}
    loaded = agreements.loaded()
    keys = [(v.agreement.id, v.sha256) for v in loaded if not v.stored and v.raw]

    def pending(conn: Connection) -> tuple[list[AuditEvent], bool]:
        history = _read_history(conn)
        kept = [k for item in broken_files if (k := kept_key(item, history)) is not None]
        events = agreement_events(current, history, broken)
        events += kept_events(broken_files, history, _logged_keys(conn, kept))
        return events, len(stored_keys(conn, keys)) < len(set(keys))

    with engine.connect() as conn:
        events, unstored = pending(conn)
        if not events and not unstored:
            return []
    with engine.begin() as conn:
        _lock_log(conn)
        events, unstored = pending(conn)
        entries = audit.append_in(conn, events) if events else []
        # every version loaded now is the one its latest entry names: keep its bytes
        stored = store_versions(conn, loaded) if unstored else []
    for entry in entries:
        if entry.action == Action.AGREEMENT_LOADED:
            continue  # said loudly where the set was loaded (sisi hub, the gatekeeper)
        change = entry.details.get("change")
        removed = change == BAJA  # said as loudly as a new agreement's topics (sisi up shows it)
        _log.log(
            logging.WARNING if removed else logging.INFO,
            "convenio %s: %s (%s) registrado en la bitácora, entrada %s%s",
            entry.agreement_id,
            change,
            entry.details.get("file"),
            entry.sequence,
            "; lo que llegue de él irá a cuarentena (CONVENIO_DADO_DE_BAJA)" if removed else "",
        )
    for version in stored:
        _log.info("convenio %s: versión %s guardada", version.agreement_id, version.sha256[:12])
    return entries


def read_contract_versions(conn: Connection) -> list[ContractVersion]:
    """Every (subject, version) of the registry, soft-deleted ones too, in registration order."""
    query = (
        select(
            SubjectVersion.subject,
            SubjectVersion.version,
            SubjectVersion.schema_id,
            SubjectVersion.created_at,
            SubjectVersion.deleted,
            RegistrySchema.fingerprint,
        )
        .join(RegistrySchema, RegistrySchema.id == SubjectVersion.schema_id)
        .order_by(SubjectVersion.id)
    )
    return [
        ContractVersion(
            row.subject,
            row.version,
            row.schema_id,
            row.fingerprint,
            row.created_at,
            bool(row.deleted),
        )
        for row in conn.execute(query)
    ]


def _recorded_contracts(conn: Connection) -> list[ContractVersion]:
    """The versions the log holds ``CONTRACT_REGISTERED`` entries for, from their details."""
    query = (
        select(audit_log.c.details)
        .where(audit_log.c.action == Action.CONTRACT_REGISTERED.value)
        .order_by(audit_log.c.sequence)
    )
    recorded: list[ContractVersion] = []
    for (text,) in conn.execute(query):
        details = json.loads(text)
        try:
            recorded.append(
                ContractVersion(
                    details["subject"],
                    int(details["version"]),
                    int(details["schema_id"]),
                    details["sha256"],
                    None,
                )
            )
        except (KeyError, TypeError, ValueError):
            continue  # not an entry of this module's shape
    return recorded


def _logged_keys(conn: Connection, keys: Sequence[str]) -> set[str]:
    column = audit_log.c.idempotency_key
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(
            conn.execute(select(column).where(column.in_(keys[start : start + 500]))).scalars()
        )
    return found


def registry_state(versions: Iterable[ContractVersion]) -> tuple[tuple[str, int, int, bool], ...]:
    """What the gatekeeper's schema cache depends on: each version's id and whether it is live."""
    return tuple((v.subject, v.version, v.schema_id, v.deleted) for v in versions)


def read_contract_config(conn: Connection) -> dict[str, str]:
    """The registry's compatibility levels: subject (``""``: the global one) -> mode."""
    query = select(RegistryConfig.subject, RegistryConfig.compatibility)
    return {row.subject: row.compatibility for row in conn.execute(query)}


def _config_history(conn: Connection) -> dict[str, ConfigChange]:
    query = (
        select(audit_log.c.sequence, audit_log.c.details)
        .where(audit_log.c.action == Action.CONTRACT_CONFIG_CHANGED.value)
        .order_by(audit_log.c.sequence)
    )
    rows = []
    for row in conn.execute(query):
        details = json.loads(row.details)
        if details.get("level") == "global":
            details["subject"] = GLOBAL_SUBJECT
        rows.append((row.sequence, details))
    return last_config_changes(rows)


def record_contract_changes(
    engine: Engine, audit: AuditLog, schemas: SchemaSource | None = None
) -> list[AuditEntry]:
    """Append the compatibility-mode changes, registrations and deletions of contract versions
    the log lacks (in that order: a mode change usually comes before the version it admits).

    With ``schemas`` (the gatekeeper's cache), also tell it what the registry holds now.
    """
    with engine.connect() as conn:
        configs = config_events(read_contract_config(conn), _config_history(conn))
        versions = read_contract_versions(conn)
        recorded = _recorded_contracts(conn)
        keys = [contract_key(v) for v in versions]
        keys += [contract_deletion_key(v, LOGICA) for v in versions if v.deleted]
        keys += [contract_deletion_key(v, DEFINITIVA) for v in recorded]
        events = configs + contract_events(versions, _logged_keys(conn, keys), recorded)
    if schemas is not None:
        schemas.observe_registry(registry_state(versions))
    if not events:
        return []
    entries = audit.append_many(events)  # a change logged meanwhile by another worker: skipped
    for entry in entries:
        if entry.action == Action.CONTRACT_CONFIG_CHANGED:
            _log.info(
                "contrato %s: compatibilidad %s -> %s registrada en la bitácora, entrada %s",
                entry.details.get("subject") or "(global)",
                entry.details.get("previous_compatibility") or "(ninguna)",
                entry.details.get("compatibility"),
                entry.sequence,
            )
        elif entry.action == Action.CONTRACT_DELETED:
            _log.info(
                "contrato %s v%s: baja %s registrada en la bitácora, entrada %s",
                entry.details.get("subject"),
                entry.details.get("version"),
                entry.details.get("deletion"),
                entry.sequence,
            )
        else:
            _log.info(
                "contrato %s v%s registrado en la bitácora, entrada %s",
                entry.details.get("subject"),
                entry.details.get("version"),
                entry.sequence,
            )
    return entries


def record_at_start(engine: Engine, audit: AuditLog, agreements: AgreementSet) -> list[AuditEntry]:
    """What changed while no worker looked: contract versions, then the loaded agreements."""
    return record_contract_changes(engine, audit) + record_agreement_changes(
        engine, audit, agreements
    )


def watch_changes(engine: Engine, audit: AuditLog, gatekeeper: Gatekeeper) -> list[AuditEntry]:
    """The worker's periodic look: contract versions registered or deleted (the gatekeeper's
    schema cache learns of them too), and the agreements when the gatekeeper loads a new set.

    A failure to record contracts is logged and retried at the next look (nothing is judged by
    the log's contract entries). A failure to record a set already loaded is raised: the worker
    must stop rather than judge messages by agreements the log does not show (its restart
    records them).
    """
    entries: list[AuditEntry] = []
    try:
        entries += record_contract_changes(engine, audit, gatekeeper.schemas)
    except Exception:
        _log.exception("no se registraron las versiones de contratos (se reintentará)")
    agreements = gatekeeper.agreements
    if gatekeeper.refresh() or _kept_state(agreements) != _KEPT_SEEN.get(agreements):
        entries += record_agreement_changes(engine, audit, agreements)
        _KEPT_SEEN[agreements] = _kept_state(agreements)
    return entries


#: Per set the timer records: which broken files kept which version at the last record.
_KEPT_SEEN: weakref.WeakKeyDictionary[AgreementSet, tuple[tuple[str, str | None, str], ...]] = (
    weakref.WeakKeyDictionary()
)


def _kept_state(agreements: AgreementSet) -> tuple[tuple[str, str | None, str], ...]:
    return tuple(
        (item.path.name, item.sha256, item.previous.sha256)
        for item in agreements.broken
        if item.previous is not None and item.previous.stored
    )
