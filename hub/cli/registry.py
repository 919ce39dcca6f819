"""``sisi registry``: totals of the central registry and audited look-ups of one person."""

from __future__ import annotations

import datetime as dt
import decimal
import getpass
import json
from collections.abc import Iterable
from typing import Any

import click
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from hub.audit.keys import load_or_create_hub_key
from hub.audit.store import AuditLog
from hub.db import make_engine
from hub.errors import ConfigurationError, SisiError
from hub.registry.queries import person_by_curp, stats
from hub.settings import Settings

__all__ = ["json_default", "open_registry", "registry"]


def open_registry(settings: Settings, tables: Iterable[str]) -> Engine:
    """The registry engine, after checking that ``tables`` exist (migrations applied)."""
    hint = "revise SISI_DATABASE_URL; 'sisi hub' aplica las migraciones al iniciar"
    try:
        engine = make_engine(settings.resolved_database_url())
        present = set(inspect(engine).get_table_names())
    except SQLAlchemyError as exc:
        raise ConfigurationError(
            f"no se pudo abrir la base de datos del registro ({type(exc).__name__})", hint=hint
        ) from exc
    missing = sorted(set(tables) - present)
    if missing:
        engine.dispose()
        raise ConfigurationError(
            f"a la base de datos le faltan tablas: {', '.join(missing)}", hint=hint
        )
    return engine


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
    """Who runs the command (the OS user), for the audit log."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "desconocido"


@click.group("registry")
def registry() -> None:
    """Registro central: totales y consulta auditada de una persona."""


@registry.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
def stats_command(as_json: bool) -> None:
    """Totales: personas, registros de origen, inscripciones activas por programa, pagos."""
    engine = open_registry(Settings(), ["people", "applied_items"])
    try:
        totals = stats(engine)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(totals, ensure_ascii=False, default=json_default))
        return
    click.echo(f"personas:              {totals['people']}")
    click.echo(f"registros de origen:   {totals['source_records']}")
    click.echo(f"elementos aplicados:   {totals['applied_items']}")
    click.echo(f"entregas:              {totals['deliveries']}")
    payments = totals["payments"]
    click.echo(f"pagos:                 {payments['count']} por ${payments['total']:,}")
    click.echo("inscripciones activas por programa:")
    for program, count in totals["active_enrollments"].items():
        click.echo(f"  {program:<12} {count}")


@registry.command("person")
@click.argument("curp")
@click.option("--purpose", required=True, help="Finalidad de la consulta (queda en la bitácora).")
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
def person_command(curp: str, purpose: str, as_json: bool) -> None:
    """Datos, programas y pagos de una persona. La consulta queda en la bitácora de auditoría."""
    if not purpose.strip():
        raise SisiError("la finalidad está vacía", field="--purpose",
                        hint="declare para qué consulta los datos personales")
    settings = Settings()
    engine = open_registry(settings, ["people", "audit_log"])
    try:
        report = person_by_curp(engine, curp)
        if report is None:
            raise SisiError(f"no hay en el registro una persona con la CURP {curp.strip().upper()}",
                            hint="revise la CURP", field="CURP")
        audit = AuditLog(engine, load_or_create_hub_key(settings))
        entry = audit.read_personal(
            operator(), purpose.strip(), str(report.person["id"]), {"command": "registry person"}
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
        click.echo(f"  programa {program['program_key']} ({program['program_name']}): "
                   f"{program['status']} — convenio {program['agreement_id']}")
    for payment in report.payments:
        amount = decimal.Decimal(payment["monto_centavos"] or 0).scaleb(-2)
        click.echo(f"  pago {payment['fecha_beneficio']} {payment['program_key']} ${amount:,}")
    click.echo(f"consulta registrada en la bitácora (entrada {entry.sequence}).", err=True)
