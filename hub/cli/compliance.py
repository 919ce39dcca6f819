"""``sisi compliance``: per-agreement compliance (deliveries, acceptance, reasons, quality, lag).

Every loaded agreement is listed, also one that never delivered ("sin entregas"). Replays and
refusals before authentication are shown apart: they do not count against the agency.
"""

from __future__ import annotations

import datetime as dt
import json

import click

from hub.agreements.loader import AgreementSet
from hub.cli.registry import json_default, open_registry
from hub.compliance.store import AgreementCompliance, read_compliance
from hub.errors import SisiError
from hub.settings import Settings

__all__ = ["compliance"]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _check(value: float | None, limit: float, *, at_least: bool) -> str:
    if value is None:
        return ""
    ok = value >= limit if at_least else value <= limit
    return "" if ok else " ✗"


def _age(last: dt.datetime | None, now: dt.datetime) -> str:
    if last is None:
        return "sin entregas"
    hours = (now - last).total_seconds() / 3600
    return f"hace {hours:.1f} h" if hours < 48 else f"hace {hours / 24:.1f} días"


def _render(row: AgreementCompliance, agreements: AgreementSet, now: dt.datetime) -> list[str]:
    c = row.counters
    agreement = agreements.get(row.agreement_id) if row.agreement_id in agreements else None
    quality = agreement.quality if agreement else None
    lines = [f"{row.agreement_id}"]
    refused = row.transactions - row.deliveries
    lines.append(
        f"  entregas recibidas {row.deliveries}"
        + (f" (más {refused} sin elementos aceptados)" if refused > 0 else "")
        + f" · mensajes {c['messages']}"
        f" · elementos {c['items_received']} · aceptados {c['items_accepted']}"
        f" · rechazados {c['items_rejected']}"
    )
    curp, complete, dup = row.curp_validity, row.completeness, row.duplicate_ratio
    mark = (
        (
            _check(curp, quality.min_curp_validity, at_least=True),
            _check(complete, quality.min_completeness, at_least=True),
            _check(dup, quality.max_duplicate_rate, at_least=False),
        )
        if quality
        else ("", "", "")
    )
    lines.append(
        f"  CURP válidas {_pct(curp)}{mark[0]} · completitud {_pct(complete)}{mark[1]}"
        f" · duplicados {_pct(dup)}{mark[2]}"
    )
    sla = f" (máximo {agreement.delivery.max_lag_hours} h)" if agreement else ""
    lag = "—" if row.last_lag_seconds is None else f"{row.last_lag_seconds / 3600:.1f} h"
    initial = c["initial_items"]
    if row.last_lag_seconds is None and initial:
        lag = "sin medir (sólo carga inicial)"
    lines.append(
        f"  desfase de la última entrega {lag}{sla} · fuera de plazo {c['late_items']}"
        + (f" · carga inicial {initial} (desfase no medido)" if initial else "")
        + (
            f" · última entrega {_age(row.last_delivery_at, now)}"
            if row.last_delivery_at is not None
            else " · sin entregas aún"
        )
    )
    for code, count in sorted(row.item_rejections.items(), key=lambda kv: -kv[1]):
        lines.append(f"  rechazo {code}: {count} elementos")
    for code, count in sorted(row.message_rejections.items(), key=lambda kv: -kv[1]):
        lines.append(f"  conjunto rechazado {code}: {count}")
    hub_side = [f"repeticiones {c['replays']} (MENSAJE_REPETIDO)"] if c["replays"] else []
    hub_side += [
        f"sin autenticar {code} {count}"
        for code, count in sorted(row.unverified_rejections.items(), key=lambda kv: -kv[1])
    ]
    if hub_side:
        lines.append(f"  no cuentan contra el convenio: {' · '.join(hub_side)}")
    return lines


@click.command("compliance")
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
@click.option(
    "--period",
    default=None,
    metavar="AAAA-MM",
    help="Sólo un mes: el mes en que el hub procesó los conjuntos, AAAA-MM.",
)
def compliance(as_json: bool, period: str | None) -> None:
    """Cumplimiento por convenio: entregas, aceptación, motivos de rechazo, calidad y desfase."""
    if period is not None and not (
        len(period) == 7
        and period[4] == "-"
        and period[:4].isdigit()
        and period[5:].isdigit()
        and 1 <= int(period[5:]) <= 12
    ):
        raise SisiError(f"periodo no válido: {period!r}", field="--period", hint="use AAAA-MM")
    from hub.worker.versions import StoredVersions

    settings = Settings()
    engine = open_registry(settings, ["compliance_totals", "agreement_versions"])
    try:
        # a file broken since the hub audited it is still in force (its stored last good version)
        agreements = AgreementSet(settings.agreements_dir, StoredVersions(engine))
        rows = read_compliance(engine, period=period, agreement_ids=agreements.ids)
    finally:
        engine.dispose()
    if as_json:
        document = [r.to_dict() for r in rows]
        click.echo(json.dumps(document, ensure_ascii=False, default=json_default))
        return
    if not rows:
        click.echo(
            f"sin datos de cumplimiento para el periodo {period}."
            if period
            else "sin datos de cumplimiento todavía."
        )
        return
    now = dt.datetime.now(dt.UTC)
    for row in rows:
        click.echo("\n".join(_render(row, agreements, now)))
