"""``sisi synth``: write synthetic padrones and surveys in an agreement's own file layout."""

from __future__ import annotations

from pathlib import Path

import click

from hub.agreements import Agreement, load_agreements
from hub.errors import AgreementError, SisiError
from hub.settings import get_settings
from producers.synth.writer import WriteResult

__all__ = ["synth"]


def _agreement(agreement_id: str, kind: str) -> Agreement:
    agreement = load_agreements(get_settings().agreements_dir).get(agreement_id)
    if agreement.kind != kind:
        command = "padron" if agreement.kind == "padron" else "households"
        raise AgreementError(
            f"el convenio {agreement_id} es de tipo '{agreement.kind}', no '{kind}'",
            field="agreement",
            hint=f"use 'sisi synth {command}' con este convenio",
        )
    return agreement


def _report(result: WriteResult, what: str) -> None:
    click.echo(f"{what}: {result.records:,} registros escritos en {result.path}")
    click.echo(f"errores inyectados: {result.errors:,} (lista en {result.sidecar})")


def _fail(exc: SisiError) -> None:
    click.echo(f"error: {exc.render()}", err=True)
    raise SystemExit(exc.exit_code)


@click.group()
def synth() -> None:
    """Datos sintéticos realistas (padrones y encuestas) con el formato de cada convenio."""


@synth.command("padron")
@click.option("--agreement", "agreement_id", required=True, help="clave del convenio")
@click.option("--people", type=click.IntRange(min=0), required=True, help="personas en el padrón")
@click.option("--seed", type=int, required=True, help="semilla (misma semilla, mismo archivo)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--error-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True)
@click.option("--delivery", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--recent",
    is_flag=True,
    help="fechas de hoy: las altas nuevas y los pagos de la entrega caen en los días previos a "
    "hoy, dentro del desfase máximo del convenio (lo que usa 'sisi up --demo'); sin esta "
    "opción la entrega K cae en el K-ésimo periodo de pago desde el inicio del convenio",
)
def padron(
    agreement_id: str,
    people: int,
    seed: int,
    out: Path,
    error_rate: float,
    delivery: int,
    recent: bool,
) -> None:
    """Escribe el padrón de la entrega DELIVERY (1 = padrón base) de un convenio de padrón."""
    from producers.synth.blockwriter import write_blocks
    from producers.synth.padron import padron_blocks

    try:
        agreement = _agreement(agreement_id, "padron")
        blocks = padron_blocks(agreement, people, seed, delivery, error_rate, recent=recent)
        result = write_blocks(blocks, agreement.layout, out, title=agreement.title)
    except SisiError as exc:
        _fail(exc)
    _report(result, f"padrón {agreement_id}, entrega {delivery}")


@synth.command("households")
@click.option("--agreement", "agreement_id", required=True, help="clave del convenio de encuesta")
@click.option("--households", type=click.IntRange(min=0), required=True, help="hogares")
@click.option("--seed", type=int, required=True, help="semilla (misma semilla, mismo archivo)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--error-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True)
def households(agreement_id: str, households: int, seed: int, out: Path, error_rate: float) -> None:
    """Escribe una encuesta socioeconómica (una fila por integrante del hogar)."""
    from producers.synth.households import generate_households
    from producers.synth.writer import write_records

    try:
        agreement = _agreement(agreement_id, "encuesta")
        records = generate_households(agreement, households, seed, error_rate)
        result = write_records(records, agreement.layout, out, title=agreement.title)
    except SisiError as exc:
        _fail(exc)
    _report(result, f"encuesta {agreement_id}")
