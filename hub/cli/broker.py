"""``sisi broker``: the embedded Kafka-protocol broker with every topic the agreements need."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import click

from hub.broker.embedded import EmbeddedBroker
from hub.broker.topics import DEFAULT_PARTITIONS, TopicSpec, ensure_topics, topics_for_agreements
from hub.errors import BrokerError
from hub.settings import Settings

__all__ = [
    "agreement_ids",
    "broker",
    "create_topics",
    "open_broker",
    "run_broker",
    "stop_signals",
]

Echo = Callable[[str], None]


def agreement_ids(directory: Path | None) -> list[str]:
    """Ids of the agreements in ``directory`` (default: the configured agreements directory).

    A default directory that does not exist yields no agreements (only the hub's topics are
    created); an explicit one that does not exist is an error.
    """
    explicit = directory is not None
    folder = directory if directory is not None else Settings().agreements_dir
    if not folder.is_dir():
        if explicit:
            raise BrokerError(
                f"no existe el directorio de convenios {folder}",
                path=folder,
                hint="indique con --agreements-dir la carpeta con los archivos de convenio.",
            )
        return []
    from hub.agreements import load_agreements

    return sorted({agreement.id for agreement in load_agreements(folder)})


def create_topics(
    bootstrap_servers: str,
    partitions: int = DEFAULT_PARTITIONS,
    agreements_dir: Path | None = None,
    *,
    echo: Echo = click.echo,
) -> list[str]:
    """Create the hub's and the agreements' topics on a running broker; returns those created."""
    specs = topics_for_agreements(agreement_ids(agreements_dir), partitions=partitions)
    created = ensure_topics(bootstrap_servers, specs)
    echo(
        f"Temas en {bootstrap_servers}: {len(specs)} necesarios, "
        f"{len(created)} creados ahora."
    )
    for spec in specs:
        mark = "nuevo" if spec.name in created else "ya existía"
        echo(f"  {spec.name}  ({mark})")
    return created


@contextmanager
def open_broker(
    port: int | None = 9092,
    partitions: int = DEFAULT_PARTITIONS,
    agreements_dir: Path | None = None,
    *,
    host: str = "127.0.0.1",
    log_path: Path | None = None,
) -> Iterator[tuple[EmbeddedBroker, list[TopicSpec]]]:
    """Start the embedded broker, create the hub's and the agreements' topics, stop on exit.

    Agreements are read before the broker starts, so a bad agreement file starts nothing.
    """
    specs = topics_for_agreements(agreement_ids(agreements_dir), partitions=partitions)
    with EmbeddedBroker(port=port, host=host, log_path=log_path) as embedded:
        ensure_topics(embedded.bootstrap_servers, specs)
        yield embedded, specs


@contextmanager
def stop_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT (Ctrl-C) or SIGTERM while the block runs; handlers restored after."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_broker(
    port: int | None = 9092,
    partitions: int = DEFAULT_PARTITIONS,
    agreements_dir: Path | None = None,
    *,
    host: str = "127.0.0.1",
    log_path: Path | None = None,
    echo: Echo = click.echo,
    stop: threading.Event | None = None,
) -> None:
    """Run the broker with its topics until ``stop`` is set (by default: Ctrl-C or SIGTERM).

    Signals are caught from the start, so a SIGTERM during start-up still stops cleanly.
    """
    if stop is None:
        with stop_signals() as from_signals:
            run_broker(port, partitions, agreements_dir, host=host, log_path=log_path,
                       echo=echo, stop=from_signals)  # fmt: skip
        return
    with open_broker(port, partitions, agreements_dir, host=host, log_path=log_path) as (
        embedded,
        specs,
    ):
        echo(
            f"Broker Kafka (Tansu, en memoria) escuchando en {embedded.bootstrap_servers} "
            f"(pid {embedded.pid})."
        )
        echo(f"Registro del broker: {embedded.log_path}")
        echo(f"Temas ({len(specs)}):")
        for spec in specs:
            plural = "partición" if spec.partitions == 1 else "particiones"
            echo(f"  {spec.name}  ({spec.partitions} {plural})")
        echo(f"Para los clientes: SISI_BOOTSTRAP_SERVERS={embedded.bootstrap_servers}")
        echo("Atención: el broker guarda todo en memoria; al detenerlo se pierden los mensajes.")
        echo("Listo. Ctrl-C para detener.")
        while not stop.wait(0.5):
            if not embedded.is_running():
                raise BrokerError(
                    "el broker terminó inesperadamente",
                    path=embedded.log_path,
                    hint="revise su registro y vuelva a ejecutar 'sisi broker'.",
                )
        echo("Deteniendo el broker…")
    echo("Broker detenido.")


@click.command("broker")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=9092,
    show_default=True,
    help="Puerto TCP en 127.0.0.1 donde escucha el broker.",
)
@click.option(
    "--partitions",
    type=click.IntRange(1, 1000),
    default=DEFAULT_PARTITIONS,
    show_default=True,
    help="Particiones de los temas de convenios y del hub.",
)
@click.option(
    "--agreements-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Carpeta de convenios (por omisión SISI_AGREEMENTS_DIR o agreements/).",
)
@click.option(
    "--topics-only",
    is_flag=True,
    help="No arrancar un broker: crear los temas en un broker existente "
    "(--bootstrap-servers) y salir. Para Apache Kafka en producción.",
)
@click.option(
    "--bootstrap-servers",
    default=None,
    help="Broker existente para --topics-only (por omisión SISI_BOOTSTRAP_SERVERS).",
)
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Archivo donde escribir el registro del broker.",
)
def broker(
    port: int,
    partitions: int,
    agreements_dir: Path | None,
    topics_only: bool,
    bootstrap_servers: str | None,
    log_file: Path | None,
) -> None:
    """Arranca el broker Kafka embebido (Tansu) con los temas de todos los convenios."""
    if topics_only:
        target = bootstrap_servers or Settings().bootstrap_servers
        create_topics(target, partitions, agreements_dir)
        return
    run_broker(port, partitions, agreements_dir, log_path=log_file)
