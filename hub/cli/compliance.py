"""``sisi compliance``: per-agreement compliance (deliveries, acceptance, reasons, quality, lag).

Every loaded agreement is listed, also one that never delivered ("sin entregas"), and one no
longer loaded (removed) or no longer in force that has figures, marked as such. Replays and
refusals before authentication are shown apart: they do not count against the agency. The lag is
the hub's (arrival at the hub minus effective date); a header ``sent_at`` ahead of the hub's clock
is reported as a warning, since it says the agency's clock or time zone is wrong.

"A tiempo" is :attr:`AgreementCompliance.on_time` (no late item in the figures shown), the
verdict of the public scorecard too; ``--published`` reads those cards back from their topic with
only the broker and the Schema Registry, as a subscriber does.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click

from hub.agreements.loader import AgreementSet
from hub.agreements.model import KEY_DATE_ZONE, Agreement
from hub.cli.registry import json_default, open_registry
from hub.compliance.cadence import delivery_due, overdue
from hub.compliance.counting import UNKNOWN_AGREEMENT, measured
from hub.compliance.published import latest_cards, read_published_scorecards
from hub.compliance.store import AgreementCompliance, read_compliance
from hub.errors import SisiError
from hub.settings import Settings
from hub.topics import PUBLIC_SCORECARDS

__all__ = ["compliance"]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _check(value: float | None, limit: float, *, at_least: bool) -> str:
    if value is None:
        return ""
    ok = value >= limit if at_least else value <= limit
    return "" if ok else " ✗"


def _age(last: dt.datetime, now: dt.datetime) -> str:
    """How long ago ``last`` was, in one unit (minutes, hours or days)."""
    seconds = max(0.0, (now - last).total_seconds())
    if seconds < 60:
        return "hace menos de un minuto"
    if seconds < 3600:
        return f"hace {int(seconds // 60)} min"
    return f"hace {_hours(seconds)}"


def _lag_hours(seconds: float) -> str:
    """A lag in hours, the unit of the agreement's ``delivery.max_lag_hours`` it is read
    against (days next to a maximum in hours are hard to compare)."""
    return f"{seconds / 3600:.1f} h"


def _hours(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} días"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _overdue(agreement: Agreement, last: dt.datetime | None, now: dt.datetime) -> str:
    """' ✗ (…)' when a periodic agreement's next delivery is overdue, else ''."""
    if not overdue(agreement, last, now):
        return ""
    due = delivery_due(agreement, last)
    assert due is not None
    which = "la siguiente" if last is not None else "la primera"
    return (
        f" ✗ (entrega {agreement.delivery.period}: {which} debía llegar a más tardar el"
        f" {due.astimezone(KEY_DATE_ZONE).date().isoformat()})"
    )


def _today(now: dt.datetime) -> dt.date:
    """The date in central Mexico time (the agreements' dates are days there)."""
    return now.astimezone(KEY_DATE_ZONE).date()


def _month_bounds(period: str) -> tuple[dt.date, dt.date]:
    """First and last day of ``period`` (AAAA-MM)."""
    year, month = (int(part) for part in period.split("-"))
    first = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def _in_force_during(agreement: Agreement, period: str) -> bool:
    """Whether ``period`` overlaps the agreement's validity (its status aside)."""
    first, last = _month_bounds(period)
    return first <= agreement.valid_until and last >= agreement.valid_from


def _title(
    row: AgreementCompliance, agreement: Agreement | None, now: dt.datetime, period: str | None
) -> str:
    if row.agreement_id == UNKNOWN_AGREEMENT:
        return (
            f"{row.agreement_id} (mensajes que nombran un convenio que el hub no tiene: no son"
            " de ninguna dependencia; revise quién escribe en los temas con 'sisi quarantine list')"
        )
    if agreement is None:
        return f"{row.agreement_id} (no cargado: convenio dado de baja o su archivo no carga)"
    if not measured(agreement):
        return (
            f"{row.agreement_id} (convenio de {agreement.kind}: el hub todavía no lee sus"
            " entregas, no hay cifras que medir)"
        )
    today = _today(now)
    if period is not None:
        first, last = _month_bounds(period)
        if last < agreement.valid_from:
            return (
                f"{row.agreement_id} (en {period} aún no estaba en vigor: vigente desde el"
                f" {agreement.valid_from.isoformat()}; no había nada que entregar)"
            )
        if first > agreement.valid_until:
            return (
                f"{row.agreement_id} (en {period} ya no estaba en vigor: vencido el"
                f" {agreement.valid_until.isoformat()})"
            )
    if agreement.status != "vigente":
        return f"{row.agreement_id} (no vigente: estado '{agreement.status}')"
    if today > agreement.valid_until:
        return f"{row.agreement_id} (vencido el {agreement.valid_until.isoformat()})"
    if today < agreement.valid_from:
        return f"{row.agreement_id} (vigente desde el {agreement.valid_from.isoformat()})"
    return row.agreement_id


def _timeliness(row: AgreementCompliance, agreement: Agreement | None, period: str | None) -> str:
    """The verdict line: on time means no item beyond the maximum lag in the figures shown (the
    month with ``period``, as on that month's public scorecard; else every month), with the
    lag of the last measured delivery, every duration in hours."""
    c = row.counters
    verdict = row.on_time
    initial = c["initial_items"]
    if verdict is True:
        said = "sí"
    elif verdict is False:
        said = "no ✗"
    elif initial:
        said = "sin medir (sólo carga inicial)"
    elif period is not None:
        said = f"sin medir (ninguna entrega medida en {period})"
    else:
        said = "sin medir (ninguna entrega medida)"
    lag = "—" if row.last_lag_seconds is None else _lag_hours(row.last_lag_seconds)
    return (
        f"  a tiempo: {said} · fuera de plazo {c['late_items']}"
        f" · desfase de la última entrega medida {lag}"
        + (f" (máximo {agreement.delivery.max_lag_hours} h)" if agreement else "")
        + (f" · carga inicial {initial} (desfase no medido)" if initial else "")
    )


def _last_delivery(
    row: AgreementCompliance, agreement: Agreement | None, now: dt.datetime, period: str | None
) -> str:
    """When the last delivery (of any month) arrived, and whether the next one is overdue."""
    last = row.last_delivery_at
    if last is None:
        line = "  sin entregas aún"
    elif period is not None and row.deliveries == 0:
        line = f"  ninguna entrega en {period} · la última (de otro mes) llegó {_age(last, now)}"
    elif period is not None:
        line = f"  última entrega (de cualquier mes) {_age(last, now)}"
    else:
        line = f"  última entrega {_age(last, now)}"
    return line + (_overdue(agreement, last, now) if agreement else "")


def _render(
    row: AgreementCompliance,
    agreements: AgreementSet,
    now: dt.datetime,
    period: str | None = None,
) -> list[str]:
    c = row.counters
    agreement = agreements.get(row.agreement_id) if row.agreement_id in agreements else None
    quality = agreement.quality if agreement else None
    lines = [_title(row, agreement, now, period)]
    if agreement is not None and not measured(agreement):
        return lines  # nothing is counted for it: zeros would read as an agency that never sent
    if agreement is not None and period is not None and not _in_force_during(agreement, period):
        # nothing was due that month: zeros would read as an agency that did not deliver
        return [*lines, _last_delivery(row, agreement, now, period)]
    refused = row.transactions - row.deliveries
    identical = c["items_received"] - c["items_accepted"] - c["items_rejected"]
    too_many = (
        _check(row.rejection_rate, quality.max_rejection_rate, at_least=False) if quality else ""
    )
    lines.append(
        f"  entregas recibidas {row.deliveries}"
        + (f" (más {refused} sin elementos aceptados)" if refused > 0 else "")
        + f" · mensajes {c['messages']}"
        f" · elementos {c['items_received']} · aceptados {c['items_accepted']}"
        f" · rechazados {c['items_rejected']}{too_many}"
        + (f" · repetidos idénticos {identical} (aplicados una vez)" if identical > 0 else "")
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
    lines.append(_timeliness(row, agreement, period))
    lines.append(_last_delivery(row, agreement, now, period))
    for code, count in sorted(row.item_rejections.items(), key=lambda kv: -kv[1]):
        lines.append(f"  rechazo {code}: {_count(count, 'elemento', 'elementos')}")
    for code, count in sorted(row.message_rejections.items(), key=lambda kv: -kv[1]):
        lines.append(f"  conjunto rechazado {code}: {count}")
    if row.clock_ahead_messages:
        most = row.clock_ahead_max_seconds or 0
        sets = _count(row.clock_ahead_messages, "conjunto", "conjuntos")
        lines.append(
            f"  aviso: {sets} con fecha de envío (sent_at) adelantada al reloj del hub, hasta"
            f" {_hours(most)}: el reloj o la zona horaria del sistema de la dependencia están"
            " mal; que los corrija (el desfase se mide con la llegada al hub, no con sent_at)"
        )
    hub_side = [f"repeticiones {c['replays']} (MENSAJE_REPETIDO)"] if c["replays"] else []
    hub_side += [
        f"sin autenticar {code} {count}"
        for code, count in sorted(row.unverified_rejections.items(), key=lambda kv: -kv[1])
    ]
    if hub_side:
        lines.append(f"  no cuentan contra el convenio: {' · '.join(hub_side)}")
    return lines


def _document(
    row: AgreementCompliance, agreements: AgreementSet, now: dt.datetime
) -> dict[str, object]:
    """``row`` for ``--json``, with what the agreement says (SLA, in force) and the age of the
    last delivery."""
    agreement = agreements.get(row.agreement_id) if row.agreement_id in agreements else None
    last = row.last_delivery_at
    return {
        **row.to_dict(),
        "loaded": agreement is not None,
        "measured": measured(agreement) if agreement else True,
        "in_force": agreement.in_force(_today(now)) if agreement else None,
        "max_lag_hours": agreement.delivery.max_lag_hours if agreement else None,
        "last_delivery_age_seconds": (now - last).total_seconds() if last else None,
        "delivery_overdue": overdue(agreement, last, now) if agreement else None,
    }


def _published_line(card: dict[str, Any]) -> str:
    """One published card, as a subscriber reads it."""
    verdict = card.get("on_time_measured")
    said = "sin medir" if verdict is None else ("sí" if verdict else "no ✗")
    rate = card.get("acceptance_rate")
    computed = card["computed_at"]
    when = computed.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{card['period']}  {card['agreement_id']} ({card['dependencia']})\n"
        f"  a tiempo: {said} · fuera de plazo {card.get('late_items', 0)}"
        f" · entregas {card['deliveries']} · elementos {card['items_received']}"
        f" · aceptados {_pct(rate)} · calculado {when}"
    )


def _show_published(as_json: bool, period: str | None) -> None:
    """``--published``: the cards on the public topic (broker and Schema Registry only)."""
    settings = Settings()
    cards = latest_cards(
        read_published_scorecards(settings.bootstrap_servers, settings.schema_registry_url)
    )
    if period is not None:
        cards = [card for card in cards if card["period"] == period]
    if as_json:
        click.echo(json.dumps(cards, ensure_ascii=False, default=json_default))
        return
    if not cards:
        click.echo(
            f"{PUBLIC_SCORECARDS} no tiene tableros"
            + (f" del periodo {period}" if period else "")
            + " (el hub los publica cada minuto mientras corre; el broker embebido no los"
            " conserva al reiniciarse)."
        )
        return
    click.echo(
        f"tableros publicados en {PUBLIC_SCORECARDS} ({settings.bootstrap_servers}), el más"
        " reciente de cada convenio y mes:"
    )
    for card in cards:
        click.echo(_published_line(card))


@click.command("compliance")
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
@click.option(
    "--published",
    is_flag=True,
    help=(
        f"Leer los tableros públicos del tópico {PUBLIC_SCORECARDS} (sólo el broker y el"
        " registro de esquemas, como cualquier suscriptor; sin la base del hub)."
    ),
)
@click.option(
    "--period",
    default=None,
    metavar="AAAA-MM",
    help=(
        "Sólo un mes: el mes en que el hub procesó los conjuntos, AAAA-MM (como el tablero"
        " público de ese mes; la última entrega es la de cualquier mes)."
    ),
)
def compliance(as_json: bool, published: bool, period: str | None) -> None:
    """Cumplimiento por convenio: entregas, aceptación, motivos de rechazo, calidad y desfase."""
    if period is not None and not (
        len(period) == 7
        and period[4] == "-"
        and period[:4].isdigit()
        and period[5:].isdigit()
        and 1 <= int(period[5:]) <= 12
    ):
        raise SisiError(f"periodo no válido: {period!r}", field="--period", hint="use AAAA-MM")
    if published:
        _show_published(as_json, period)
        return
    from hub.worker.versions import StoredVersions

    settings = Settings()
    engine = open_registry(settings, ["compliance_totals", "agreement_versions"])
    try:
        # a file broken since the hub audited it is still in force (its stored last good version)
        agreements = AgreementSet(settings.agreements_dir, StoredVersions(engine))
        rows = read_compliance(engine, period=period, agreement_ids=agreements.ids)
        if period is not None:
            # the last delivery of any month, as on the scorecards: a month without deliveries
            # must not make an agreement look as if it never delivered, nor overdue
            ever = read_compliance(engine, agreement_ids=agreements.ids)
            last = {row.agreement_id: row.last_delivery_at for row in ever}
            for row in rows:
                row.last_delivery_at = last.get(row.agreement_id)
    finally:
        engine.dispose()
    now = dt.datetime.now(dt.UTC)
    if as_json:
        document = [_document(r, agreements, now) for r in rows]
        click.echo(json.dumps(document, ensure_ascii=False, default=json_default))
        return
    if not rows:
        click.echo(
            f"sin datos de cumplimiento para el periodo {period}."
            if period
            else "sin datos de cumplimiento todavía."
        )
        return
    text = "\n".join(line for row in rows for line in _render(row, agreements, now, period))
    click.echo(text)
    if "✗" in text:
        click.echo(
            "✗: fuera de lo que fija el convenio (umbrales de calidad y rechazo, elementos"
            " llegados después del desfase máximo, o periodicidad de entrega)"
        )
