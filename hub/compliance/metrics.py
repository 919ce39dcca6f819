"""Prometheus metrics computed from the database at scrape time (custom collector).

Every worker exposes the same numbers (they come from the shared database, not from process
memory), so a restarted or added worker never resets or splits a counter. Labels are the
agreement, the agency's level (federal, estatal, municipal) and state (CVE_ENT, ``00`` for
federal agencies) and, for rejections, the reason code: never a person.

Every loaded padrón agreement is listed (zeros for one that never delivered); encuesta
agreements are not, since the hub does not read their topics yet. Replays
(``sisi_messages_replayed_total``) and refusals before authentication
(``sisi_messages_unauthenticated_total``, under the agreement the header claims) are the hub's
figures for operators, not counted in the agency's rejections or ratios.

Dashboards aggregate across workers with ``max``, never ``sum``: each worker reports the same
database-wide totals.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import yaml
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from hub.agreements.loader import AgreementSet
from hub.compliance.counting import CLOCK_TOLERANCE_SECONDS, measured
from hub.compliance.store import AgreementCompliance, read_compliance

__all__ = ["METRIC_NAMES", "ComplianceCollector"]

_log = logging.getLogger(__name__)

METRIC_NAMES = (
    "sisi_items_accepted_total",
    "sisi_items_rejected_total",
    "sisi_messages_rejected_total",
    "sisi_messages_replayed_total",
    "sisi_messages_unauthenticated_total",
    "sisi_deliveries_total",
    "sisi_items_late_total",
    "sisi_items_initial_load_total",
    "sisi_delivery_lag_seconds",
    "sisi_delivery_lag_sla_seconds",
    "sisi_curp_validity_ratio",
    "sisi_completeness_ratio",
    "sisi_duplicate_ratio",
    "sisi_last_delivery_timestamp_seconds",
    "sisi_messages_clock_ahead_total",
    "sisi_clock_ahead_max_seconds",
)
_LABELS = ["agreement", "level", "state"]


def _stored_labels(engine: Engine, agreement_id: str) -> tuple[str, str]:
    """Level and state of an agreement no longer loaded (removed), from the last version of it
    the hub stored, so its series keep their labels; ``("", "")`` when there is none."""
    from hub.worker.versions import agreement_versions  # hub.worker imports this package

    c = agreement_versions.c
    query = (
        select(c.content)
        .where(c.agreement_id == agreement_id)
        .order_by(c.recorded_at.desc())
        .limit(1)
    )
    try:
        with engine.connect() as conn:
            content = conn.execute(query).scalar()
        document = yaml.safe_load(bytes(content)) if content is not None else None
    except (SQLAlchemyError, yaml.YAMLError):
        return "", ""
    agency = document.get("parties", {}).get("agency", {}) if isinstance(document, dict) else {}
    if not isinstance(agency, dict):
        return "", ""
    level, state = agency.get("level"), agency.get("state")
    if level not in ("federal", "estatal", "municipal"):
        return "", ""
    state = f"{state:02d}" if isinstance(state, int) else str(state or "00")
    return level, state if len(state) == 2 and state.isdigit() else ""


class ComplianceCollector(Collector):
    """Reads ``compliance_*`` tables on each scrape and yields the ``sisi_*`` families."""

    def __init__(self, engine: Engine, agreements: AgreementSet | None = None) -> None:
        self._engine = engine
        self._agreements = agreements
        self._removed: dict[str, list[str]] = {}  # labels of agreements no longer loaded

    def _labels(self, agreement_id: str) -> list[str]:
        if self._agreements is not None and agreement_id in self._agreements:
            agency = self._agreements.get(agreement_id).parties.agency
            return [agreement_id, agency.level, agency.state or "00"]
        if agreement_id not in self._removed:
            self._removed[agreement_id] = [
                agreement_id,
                *_stored_labels(self._engine, agreement_id),
            ]
        return self._removed[agreement_id]

    def _sla(self, agreement_id: str) -> float | None:
        if self._agreements is not None and agreement_id in self._agreements:
            return float(self._agreements.get(agreement_id).delivery.max_lag_hours * 3600)
        return None

    def describe(self) -> Iterator[Metric]:
        """No families up front: scraping must not touch the database at registration."""
        return iter(())

    def collect(self) -> Iterator[Metric]:
        try:
            loaded = self._agreements if self._agreements is not None else ()
            ids = [agreement.id for agreement in loaded if measured(agreement)]
            rows = read_compliance(self._engine, agreement_ids=ids)
        except SQLAlchemyError as exc:
            _log.error("no se pudieron leer las métricas de cumplimiento: %s", exc)
            return
        yield from self._families(rows)

    def _families(self, rows: list[AgreementCompliance]) -> Iterator[Metric]:
        def counter(name: str, doc: str, extra: tuple[str, ...] = ()) -> Any:
            return CounterMetricFamily(name, doc, labels=[*_LABELS, *extra])

        def gauge(name: str, doc: str) -> Any:
            return GaugeMetricFamily(name, doc, labels=_LABELS)

        accepted = counter("sisi_items_accepted_total", "Elementos aceptados por convenio.")
        rejected = counter(
            "sisi_items_rejected_total", "Elementos rechazados por motivo.", ("reason",)
        )
        refused = counter(
            "sisi_messages_rejected_total",
            "Conjuntos autenticados rechazados completos (sin repeticiones).",
            ("reason",),
        )
        replayed = counter(
            "sisi_messages_replayed_total",
            "Conjuntos repetidos (MENSAJE_REPETIDO): del hub, no cuentan contra el convenio.",
        )
        unverified = counter(
            "sisi_messages_unauthenticated_total",
            "Conjuntos rechazados antes de autenticarse, bajo el convenio que dice su encabezado"
            " (sin comprobar): no cuentan contra el convenio.",
            ("reason",),
        )
        deliveries = counter(
            "sisi_deliveries_total", "Entregas (transaction_id) con al menos un elemento aceptado."
        )
        late = counter(
            "sisi_items_late_total",
            "Elementos aceptados que llegaron al hub después del desfase máximo del convenio"
            " (sin la carga inicial).",
        )
        initial = counter(
            "sisi_items_initial_load_total",
            "Elementos de la carga inicial del convenio (su primera entrega; desfase no medido).",
        )
        lag = gauge(
            "sisi_delivery_lag_seconds",
            "Mayor desfase (recepción en el hub menos fecha efectiva) entre los elementos"
            " aceptados de la última entrega medida (todos sus conjuntos; la carga inicial no se"
            " mide). No usa el sent_at que declara la dependencia.",
        )
        sla = gauge("sisi_delivery_lag_sla_seconds", "Desfase máximo que fija el convenio.")
        curp = gauge("sisi_curp_validity_ratio", "Proporción de CURP válidas entre las enviadas.")
        complete = gauge("sisi_completeness_ratio", "Proporción de campos obligatorios presentes.")
        duplicate = gauge(
            "sisi_duplicate_ratio",
            "Proporción de elementos repetidos dentro de su conjunto (las repeticiones de un"
            " conjunto completo son del hub: sisi_messages_replayed_total).",
        )
        last = gauge(
            "sisi_last_delivery_timestamp_seconds",
            "Momento (Unix, reloj del hub) del último conjunto con al menos un elemento aceptado.",
        )
        ahead = counter(
            "sisi_messages_clock_ahead_total",
            "Conjuntos autenticados cuyo sent_at iba adelantado más de"
            f" {CLOCK_TOLERANCE_SECONDS / 60:.0f} minutos al reloj del hub (reloj o zona horaria"
            " de la dependencia mal puestos).",
        )
        ahead_max = gauge(
            "sisi_clock_ahead_max_seconds",
            "Mayor adelanto del sent_at de un conjunto sobre el reloj del hub, en segundos.",
        )
        for row in rows:
            labels = self._labels(row.agreement_id)
            accepted.add_metric(labels, row.items_accepted)
            deliveries.add_metric(labels, row.deliveries)
            replayed.add_metric(labels, row.counters["replays"])
            late.add_metric(labels, row.counters["late_items"])
            initial.add_metric(labels, row.counters["initial_items"])
            for code, count in sorted(row.item_rejections.items()):
                rejected.add_metric([*labels, code], count)
            for code, count in sorted(row.message_rejections.items()):
                refused.add_metric([*labels, code], count)
            for code, count in sorted(row.unverified_rejections.items()):
                unverified.add_metric([*labels, code], count)
            if row.last_lag_seconds is not None:
                lag.add_metric(labels, row.last_lag_seconds)
            limit = self._sla(row.agreement_id)
            if limit is not None:
                sla.add_metric(labels, limit)
            for family, value in (
                (curp, row.curp_validity),
                (complete, row.completeness),
                (duplicate, row.duplicate_ratio),
            ):
                if value is not None:
                    family.add_metric(labels, value)
            if row.last_delivery_at is not None:
                last.add_metric(labels, row.last_delivery_at.timestamp())
            ahead.add_metric(labels, row.clock_ahead_messages)
            if row.clock_ahead_max_seconds is not None:
                ahead_max.add_metric(labels, row.clock_ahead_max_seconds)
        yield from (
            accepted,
            rejected,
            refused,
            replayed,
            unverified,
            deliveries,
            late,
            initial,
            lag,
            sla,
            curp,
            complete,
            duplicate,
            last,
            ahead,
            ahead_max,
        )
