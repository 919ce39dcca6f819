"""``sisi registry``: totals of the central registry and audited reads of its history.

``person`` shows one person; ``enrolled`` answers "who was enrolled in program P in month M" and
``paid`` "everything program P paid in a territory in a year". The three read personal data, so
each needs a declared purpose and is recorded in the audit log before anything is shown; a list
read records the registry id of every person it shows, so ``sisi audit reads CURP`` finds it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import pwd
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from hub.audit.keys import load_or_create_hub_key
from hub.audit.pseudonym import curp_digest, curp_subject
from hub.audit.store import AuditLog
from hub.db import make_engine
from hub.errors import ConfigurationError, SisiError
from hub.registry.queries import (
    RegistryQueryError,
    cvegeo_parts,
    enrolled_in,
    known_program,
    month_range,
    paid_in,
    person_by_curp,
    stats,
    year_range,
)
from hub.settings import Settings
from hub.validation.curp import normalize_curp, validate_curp

__all__ = [
    "checked_curp",
    "checked_purpose",
    "json_default",
    "open_registry",
    "operator",
    "registry",
]


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite ``url`` (None for another database or an in-memory one)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.database.startswith("file:"):  # a URI filename: SQLite reads it, not us
        return None
    return Path(parsed.database).resolve()


def open_registry(settings: Settings, tables: Iterable[str]) -> Engine:
    """The registry engine, after checking that ``tables`` exist (migrations applied).

    Nothing is created: a SQLite file that does not exist is an error naming where it was
    looked for (commands run outside the checkout would otherwise make an empty ``./var``).
    """
    url = settings.resolved_database_url()
    where = _describe(url)
    hint = (
        "defina SISI_DATA_DIR con la carpeta de datos del hub (la que usa 'sisi up') o "
        "SISI_DATABASE_URL con la base del registro; 'sisi up' o 'sisi hub' la crean y aplican "
        "las migraciones al iniciar"
    )
    path = _sqlite_file(url)
    if path is not None and not path.is_file():
        raise ConfigurationError(f"no existe la base de datos del registro: {path}", hint=hint)
    try:
        engine = make_engine(url)
        present = set(inspect(engine).get_table_names())
    except SQLAlchemyError as exc:
        raise ConfigurationError(
            f"no se pudo abrir la base de datos del registro {where} ({type(exc).__name__})",
            hint=hint,
        ) from exc
    missing = sorted(set(tables) - present)
    if missing:
        engine.dispose()
        raise ConfigurationError(
            f"a la base de datos del registro {where} le faltan tablas: {', '.join(missing)}",
            hint=hint,
        )
    return engine


def _describe(url: str) -> str:
    """How an operator recognises the database: its file, or its URL without the password."""
    path = _sqlite_file(url)
    if path is not None:
        return str(path)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(SISI_DATABASE_URL ilegible)"


def json_default(value: Any) -> Any:
    """JSON for dates, decimals and bytes."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"no serializable: {type(value).__name__}")


def operator() -> str:
    """Who runs the command, for the audit log: the account of the process's real user id.

    Not ``getpass.getuser()``: it believes ``LOGNAME`` / ``USER``, which anyone can set to name
    someone else as the reader.
    """
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _curp_digest(hub_key: Ed25519PrivateKey, curp: str) -> str:
    """HMAC-SHA256 of ``curp`` under a key derived from the hub's private key (hex)."""
    return curp_digest(hub_key, curp)


def _subjects(hub_key: Ed25519PrivateKey, people: Iterable[tuple[str, str | None]]) -> list[str]:
    """Whom a list read names (``audit_read_subjects``): each person's registry id and, when she
    has one, her CURP's digest, so ``sisi audit reads CURP`` finds the read after her records
    move to another registry id (:func:`hub.audit.pseudonym.curp_subject`)."""
    named: dict[str, None] = {}
    for person_id, curp in people:
        named[str(person_id)] = None
        if curp:
            named[curp_subject(hub_key, curp)] = None
    return list(named)


def checked_curp(value: str) -> str:
    """``value`` normalized, or a usage error saying what is wrong with it (nothing looked up)."""
    curp = normalize_curp(value)
    problems = [issue.message for issue in validate_curp(curp) if issue.is_error]
    if problems:
        raise SisiError(
            f"la CURP '{value.strip()}' no es válida: {'; '.join(problems)}",
            field="CURP",
            hint="escriba los 18 caracteres de la CURP tal como aparecen en el documento",
        )
    return curp


@click.group("registry")
def registry() -> None:
    """Registro central: totales y consultas auditadas (una persona, inscritos, pagos)."""


@registry.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
def stats_command(as_json: bool) -> None:
    """Totales: personas, registros de origen, personas inscritas hoy por programa, pagos."""
    engine = open_registry(Settings(), ["people", "applied_items"])
    try:
        totals = stats(engine)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(totals, ensure_ascii=False, default=json_default))
        return
    payments = totals["payments"]
    rows = [
        ("personas", f"{totals['people']}"),
        ("registros de origen", f"{totals['source_records']}"),
        ("elementos aplicados", f"{totals['applied_items']}"),
        ("entregas con elementos aplicados", f"{totals['deliveries']}"),
        ("pagos", f"{payments['count']} por ${payments['total']:,}"),
    ]
    for label, value in rows:
        click.echo(f"{label + ':':<34}{value}")
    click.echo("personas inscritas hoy, por programa:")
    for program, count in totals["active_enrollments"].items():
        click.echo(f"  {program:<12} {count}")


def checked_purpose(purpose: str) -> str:
    if not purpose.strip():
        raise SisiError(
            "la finalidad está vacía",
            field="--purpose",
            hint="declare para qué consulta los datos personales",
        )
    return purpose.strip()


def _as_option(exc: RegistryQueryError, option: str) -> SisiError:
    """A query's validation error told on the command line's own option."""
    return SisiError(exc.message, field=option, hint=exc.hint)


@registry.command("person")
@click.argument("curp")
@click.option("--purpose", required=True, help="Finalidad de la consulta (queda en la bitácora).")
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
def person_command(curp: str, purpose: str, as_json: bool) -> None:
    """Datos, programas y pagos de una persona. La consulta queda en la bitácora de auditoría."""
    checked_purpose(purpose)
    curp = checked_curp(curp)
    settings = Settings()
    engine = open_registry(settings, ["people", "audit_log"])
    try:
        report = person_by_curp(engine, curp)
        hub_key = load_or_create_hub_key(settings)
        audit = AuditLog(engine, hub_key)
        if report is None:
            # "not in the registry" says something about a person too: the look-up is recorded,
            # with a keyed digest of the CURP (the log never holds a CURP; a plain hash of one
            # could be reversed by trying every CURP)
            missed = audit.read_personal(
                operator(),
                purpose.strip(),
                "sin-coincidencia",
                {"command": "registry person", "curp_hmac": _curp_digest(hub_key, curp)},
            )
            # said as for a person found: the operator learns the miss is on the record too
            click.echo(f"consulta registrada en la bitácora (entrada {missed.sequence}).", err=True)
            raise SisiError(
                f"no hay en el registro una persona con la CURP {curp}",
                hint="revise la CURP",
                field="CURP",
            )
        entry = audit.read_personal(  # her CURP's digest too: ids change, see curp_subject
            operator(),
            purpose.strip(),
            str(report.person["id"]),
            {"command": "registry person", "curp_hmac": _curp_digest(hub_key, curp)},
        )
    finally:
        engine.dispose()
    document = {
        "person": report.person,
        "programs": list(report.programs),
        "history": list(report.history),
        "payments": list(report.payments),
        "audit_sequence": entry.sequence,
    }
    if as_json:
        click.echo(json.dumps(document, ensure_ascii=False, default=json_default))
        return
    p = report.person
    parts = (p["nombre"], p["primer_apellido"], p["segundo_apellido"])
    names = " ".join(str(x) for x in parts if x)
    click.echo(f"{p['curp']}  {names}")
    click.echo(
        f"  nacimiento {p['fecha_nacimiento']} · sexo {p['sexo']}"
        f" · entidad {p['entidad_nacimiento']}"
    )
    for program in report.programs:
        click.echo(
            f"  programa {program['program_key']} ({program['program_name']}): "
            f"{program['status']} — convenio {program['agreement_id']}"
        )
    for payment in report.payments:
        amount = decimal.Decimal(payment["monto_centavos"] or 0).scaleb(-2)
        click.echo(f"  pago {payment['fecha_beneficio']} {payment['program_key']} ${amount:,}")
    click.echo(f"consulta registrada en la bitácora (entrada {entry.sequence}).", err=True)


def _program_label(key: str, name: str) -> str:
    """``S176 (Pensión…)``; a program the catalog knows only by key (not seeded yet) is its key."""
    return key if name == key else f"{key} ({name})"


def _checked_program(engine: Engine, program: str) -> tuple[str, str]:
    try:
        return known_program(engine, program)
    except RegistryQueryError as exc:
        raise _as_option(exc, "PROGRAMA") from exc


@registry.command("enrolled")
@click.argument("program", metavar="PROGRAMA")
@click.option("--month", required=True, metavar="AAAA-MM", help="Mes de la consulta.")
@click.option("--purpose", required=True, help="Finalidad de la consulta (queda en la bitácora).")
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
def enrolled_command(program: str, month: str, purpose: str, as_json: bool) -> None:
    """Quiénes estuvieron inscritos en PROGRAMA algún día del mes (consulta auditada).

    Cuenta a quien tuvo una inscripción ACTIVA en al menos un día del mes, en cualquier convenio;
    una persona inscrita por dos convenios aparece una vez.
    """
    purpose = checked_purpose(purpose)
    try:
        month_range(month.strip())
    except RegistryQueryError as exc:
        raise _as_option(exc, "--month") from exc
    month = month.strip()
    settings = Settings()
    engine = open_registry(settings, ["people", "enrollments", "programs", "audit_log"])
    try:
        key, name = _checked_program(engine, program)
        people = enrolled_in(engine, key, month)
        hub_key = load_or_create_hub_key(settings)
        entry = AuditLog(engine, hub_key).read_personal(
            operator(),
            purpose,
            f"inscritos:{key}:{month}",
            {"command": "registry enrolled", "shown": str(len(people))},
            people=_subjects(hub_key, [(p.person_id, p.curp) for p in people]),
        )
    finally:
        engine.dispose()
    if as_json:
        document = {
            "program_key": key,
            "program_name": name,
            "month": month,
            "count": len(people),
            "people": [
                {
                    "person_id": p.person_id,
                    "curp": p.curp,
                    "primer_apellido": p.primer_apellido,
                    "segundo_apellido": p.segundo_apellido,
                    "nombre": p.nombre,
                }
                for p in people
            ],
            "audit_sequence": entry.sequence,
        }
        click.echo(json.dumps(document, ensure_ascii=False, default=json_default))
    else:
        noun = "persona inscrita" if len(people) == 1 else "personas inscritas"
        click.echo(f"{_program_label(key, name)}, {month}: {len(people)} {noun}")
        for p in people:
            names = " ".join(x for x in (p.primer_apellido, p.segundo_apellido, p.nombre) if x)
            click.echo(f"  {p.curp or '(sin CURP)':<18}  {names}  [{p.person_id}]")
    click.echo(f"consulta registrada en la bitácora (entrada {entry.sequence}).", err=True)


def _checked_territory(settings: Settings, cvegeo: str) -> None:
    """Refuse a CVEGEO whose state or municipality is not in the INEGI catalog (``99`` there
    means born abroad: no payment is made in it). A locality is not checked: the catalog holds
    only part of INEGI's, and an agency may report one it lacks. Without reference data the
    question is asked as given."""
    if settings.reference_data is None:
        return
    from hub.validation.geography import GeoCatalog

    catalog = GeoCatalog.load(settings.reference_data)
    source = f"{catalog.source}/inegi/" if catalog.source else "el catálogo de INEGI "
    ent, mun = cvegeo[:2], cvegeo[2:5]
    state = catalog.state(ent)
    if state is None or ent == "99":
        raise SisiError(
            f"la entidad {ent} de la CVEGEO {cvegeo!r} no existe en el catálogo de INEGI"
            + (" (99 es «nacido en el extranjero», no un territorio)" if state else ""),
            field="--cvegeo",
            hint=f"use una entidad de 01 a 32, p. ej. 07 (Chiapas); vea {source}estados.csv",
        )
    if mun and catalog.municipality(ent, mun) is None:
        raise SisiError(
            f"el municipio {ent}{mun} de la CVEGEO {cvegeo!r} no existe en el catálogo de INEGI"
            f" ({state.name} no tiene municipio {mun})",
            field="--cvegeo",
            hint=f"vea las claves de {state.name} en {source}municipios.csv",
        )


@registry.command("paid")
@click.argument("program", metavar="PROGRAMA")
@click.option(
    "--cvegeo",
    required=True,
    help="Territorio INEGI: 2 cifras (entidad), 5 (municipio) o 9 (localidad).",
)
@click.option("--year", required=True, type=int, metavar="AAAA", help="Año de los pagos.")
@click.option("--purpose", required=True, help="Finalidad de la consulta (queda en la bitácora).")
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
def paid_command(program: str, cvegeo: str, year: int, purpose: str, as_json: bool) -> None:
    """Todo lo que PROGRAMA pagó en un territorio durante un año (consulta auditada).

    Un pago cuenta donde lo dijo su elemento; uno sin geografía, donde vivía el beneficiario en la
    fecha del pago según su historial de inscripción.
    """
    purpose = checked_purpose(purpose)
    cvegeo = cvegeo.strip()
    try:
        cvegeo_parts(cvegeo)
    except RegistryQueryError as exc:
        raise _as_option(exc, "--cvegeo") from exc
    try:
        year_range(year)
    except RegistryQueryError as exc:
        raise _as_option(exc, "--year") from exc
    settings = Settings()
    _checked_territory(settings, cvegeo)
    engine = open_registry(settings, ["people", "benefits_paid", "programs", "audit_log"])
    try:
        key, name = _checked_program(engine, program)
        report = paid_in(engine, key, cvegeo, year)
        hub_key = load_or_create_hub_key(settings)
        entry = AuditLog(engine, hub_key).read_personal(
            operator(),
            purpose,
            f"pagos:{key}:{cvegeo}:{year}",
            {
                "command": "registry paid",
                "payments": str(len(report.rows)),
                "shown": str(len({row.person_id for row in report.rows})),
            },
            people=_subjects(hub_key, [(row.person_id, row.curp) for row in report.rows]),
        )
    finally:
        engine.dispose()
    if as_json:
        document = {
            "program_key": key,
            "program_name": name,
            "cvegeo": cvegeo,
            "year": year,
            "count": len(report.rows),
            "total": report.total,
            "repeated": report.repeated,
            "payments": [
                {
                    "person_id": row.person_id,
                    "curp": row.curp,
                    "agreement_id": row.agreement_id,
                    "reference_id": row.reference_id,
                    "fecha_beneficio": row.fecha_beneficio,
                    "tipo_beneficio": row.tipo_beneficio,
                    "monto": row.monto,
                    "cvegeo": row.cvegeo,
                }
                for row in report.rows
            ],
            "audit_sequence": entry.sequence,
        }
        click.echo(json.dumps(document, ensure_ascii=False, default=json_default))
    else:
        noun = "pago" if len(report.rows) == 1 else "pagos"
        click.echo(
            f"{_program_label(key, name)}, {cvegeo}, {year}: {len(report.rows)} {noun}"
            f" por ${report.total:,}"
        )
        for row in report.rows:
            click.echo(
                f"  {row.fecha_beneficio}  {row.curp or '(sin CURP)':<18}  ${row.monto:>12,}"
                f"  {row.cvegeo:<9}  {row.tipo_beneficio}  {row.agreement_id}/{row.reference_id}"
            )
    if report.repeated:
        click.echo(
            f"aviso: {report.repeated} pago(s) aparecen más de una vez (mismo folio, fecha, tipo y"
            " monto en mensajes distintos); están sumados en el total. Qué hacer: confirme con el"
            " convenio si se pagaron dos veces o si la entrega se envió de nuevo.",
            err=True,
        )
    click.echo(f"consulta registrada en la bitácora (entrada {entry.sequence}).", err=True)
