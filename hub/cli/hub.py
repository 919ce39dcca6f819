"""``sisi hub``: run the hub's workers (gatekeeper, registry, audit, quarantine, compliance)."""

from __future__ import annotations

import logging
import os
import sys
import time

import click

from hub.agreements.loader import AgreementSet, LastGood, agreement_files
from hub.broker.topics import ensure_topics, topics_for_agreements
from hub.errors import SisiError
from hub.settings import Settings

__all__ = ["hub"]

#: Seconds between looks at an agreements directory that does not load before a restart.
RESTART_RETRY_SECONDS = 5.0


def _wait_until_loadable(settings: Settings) -> None:
    """Before re-executing the worker: wait while no agreement of the directory loads.

    One broken file never stops the restart (the set loads without it, or with its last good
    version); a directory that is missing or holds no loadable agreement would make the new
    process exit, so the hub waits, saying why, and restarts once the directory loads again.
    """
    from hub.db import make_engine
    from hub.worker.versions import StoredVersions

    engine = make_engine(settings.resolved_database_url())
    try:
        _wait_for_agreements(settings, StoredVersions(engine))
    finally:
        engine.dispose()


def _wait_for_agreements(settings: Settings, last_good: LastGood) -> None:
    reported = ""
    while True:
        try:
            AgreementSet(settings.agreements_dir, last_good)
            return
        except SisiError as exc:
            text = exc.render()
            if text != reported:
                click.echo(
                    "hub: no se reinicia el worker mientras ningún convenio cargue (se reintenta "
                    f"cada {RESTART_RETRY_SECONDS:g} s):\n{text}",
                    err=True,
                )
                reported = text
        time.sleep(RESTART_RETRY_SECONDS)


@click.command("hub")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Procesos worker (comparten las particiones por el grupo de consumidores).",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Puerto de /metrics (por omisión SISI_METRICS_PORT; 0 lo desactiva). "
    "El worker i usa puerto + i.",
)
@click.option(
    "--publish-interval",
    type=click.FloatRange(1, 86400),
    default=60.0,
    show_default=True,
    help="Segundos entre publicaciones de la cabeza de auditoría y de los tableros públicos.",
)
@click.option("--no-topics", is_flag=True, help="No crear los temas (ya existen).")
@click.option("-v", "--verbose", is_flag=True, help="Bitácora detallada.")
def hub(
    workers: int,
    metrics_port: int | None,
    publish_interval: float,
    no_topics: bool,
    verbose: bool,
) -> None:
    """Ejecuta los workers del hub sobre los temas de los convenios de padrón."""
    from hub.worker.assembly import prepare_database

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from hub.db import make_engine
    from hub.worker.removed import agreement_of, removed_topics
    from hub.worker.versions import StoredVersions

    settings = Settings()
    port = settings.metrics_port if metrics_port is None else metrics_port
    agreement_files(settings.agreements_dir)  # a missing directory: said before any other work
    prepare_database(settings)
    engine = make_engine(settings.resolved_database_url())
    try:
        # a broken file keeps the version the hub audited last; raises only when none loads
        agreements = AgreementSet(settings.agreements_dir, StoredVersions(engine))
        # padrón agreements given de baja, even while the hub was down: still consumed
        removed = removed_topics(engine, agreements.ids)
    finally:
        engine.dispose()
    for broken in agreements.broken:
        if broken.previous is not None:
            click.echo(
                "hub: AVISO: convenio con errores; no se carga el archivo pero sigue en vigor su "
                f"última versión buena:\n{broken.render()}",
                err=True,
            )
        else:
            click.echo(f"hub: convenio con errores, no se carga:\n{broken.render()}", err=True)
    if not no_topics:
        ids = [*agreements.ids, *(agreement_of(topic) for topic in removed)]
        ensure_topics(settings.bootstrap_servers, topics_for_agreements(ids))
    from hub.worker.app import subscribed_topics

    topics = subscribed_topics(agreements, removed)
    click.echo(
        f"hub: {workers} {'proceso' if workers == 1 else 'procesos'} sobre {len(topics)} "
        "temas de convenio en "
        f"{settings.bootstrap_servers}",
        err=True,
    )
    if port:
        ports = f"{port}" if workers == 1 else f"{port}-{port + workers - 1}"
        host = settings.metrics_host
        host = f"[{host}]" if ":" in host else host  # an IPv6 address in a URL
        click.echo(f"métricas: http://{host}:{ports}/metrics", err=True)
    if workers == 1:
        from hub.worker.app import EXIT_RESUBSCRIBE, run_worker

        status = run_worker(
            settings,
            metrics_port=port or None,
            publish_interval=publish_interval,
            loglevel="info" if verbose else "warning",
        )
        if status == EXIT_RESUBSCRIBE:  # the agreements changed: start again on the new topics
            _wait_until_loadable(settings)
            click.echo("hub: convenios cambiados; se reinicia el worker", err=True)
            logging.shutdown()
            os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
        return
    from hub.worker.supervisor import supervise

    supervise(settings, workers, metrics_port=port or None, publish_interval=publish_interval)
