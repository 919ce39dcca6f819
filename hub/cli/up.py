"""``sisi up``: the whole embedded stack in one command, and with ``--demo`` the sample agencies.

What runs, in this process or as children of it:

- the embedded Kafka-protocol broker (Tansu) with every agreement's topics,
- the registry database (SQLite under the data directory unless ``SISI_DATABASE_URL`` says
  otherwise), migrated, and the hub's Schema Registry API seeded from ``avro_schemas/``,
- ``--workers`` hub worker processes (``sisi hub``) sharing the agency topics' partitions,
- with ``--demo``: every padrón agreement's agency delivering synthetic padrones
  (``sisi synth padron`` then ``sisi produce --wait``), a new delivery with realistic churn
  every ``--demo-interval`` seconds, and after each round three messages the hub must refuse
  (``hub.cli.demo_faults``; ``--no-demo-faults`` leaves them out).

Ctrl-C (or SIGTERM) stops everything in reverse order.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import click

from hub.agreements import Agreement, load_agreements
from hub.cli.broker import open_broker, stop_signals
from hub.db import make_engine, migrate
from hub.errors import ConfigurationError
from hub.schema_registry.server import running_registry
from hub.settings import Settings, get_settings

__all__ = ["DemoAgency", "up"]

Echo = Callable[[str], None]

_LAYOUT_SUFFIX = {"csv": ".csv", "tsv": ".tsv", "pipe": ".txt", "xlsx": ".xlsx"}


#: Worker exits within ``_RESTART_WINDOW`` seconds after which ``sisi up`` gives up.
_MAX_RESTARTS = 5
_RESTART_WINDOW = 60.0


def _sisi(*args: str) -> list[str]:
    """The command line that runs ``sisi`` with this interpreter (no PATH assumptions)."""
    return [sys.executable, "-m", "hub.cli", *args]


@dataclass
class DemoAgency:
    """One sample agency: synthesises delivery K of its padrón and hands it to ``sisi produce``."""

    agreement_id: str
    suffix: str
    workdir: Path
    people: int
    seed: int = 2026

    def deliver(
        self, delivery: int, env: Mapping[str, str], stop: threading.Event, deliveries: int = 1
    ) -> str:
        """Run delivery ``delivery`` of ``deliveries`` end to end; returns a one-line summary."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = self.workdir / f"entrega-{delivery:03d}{self.suffix}"
        synth = _sisi(
            "synth", "padron", "--agreement", self.agreement_id, "--people", str(self.people),
            "--seed", str(self.seed), "--delivery", str(delivery), "--out", str(path),
            "--error-rate", "0.01",
        )  # fmt: skip
        code, _out, err = _run_until(synth, env, stop)
        if code != 0:
            return f"{self.agreement_id}: no se pudo generar la entrega {delivery}: {err.strip()}"
        produce = _sisi(
            "produce", "--agreement", self.agreement_id, "--input", str(path), "--wait",
            "--timeout", "120", "--period", _period(delivery, deliveries), "--json",
        )  # fmt: skip
        code, out, err = _run_until(produce, env, stop)
        if code is None:
            return f"{self.agreement_id}: entrega {delivery} interrumpida (queda en el outbox)"
        return f"{self.agreement_id}: entrega {delivery} → {_delivery_summary(code, out, err)}"


def _short(text: str, limit: int = 400) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    flat = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _delivery_summary(code: int, out: str, err: str) -> str:
    """What one ``sisi produce --json`` did, in one Spanish line (its stderr when it failed)."""
    try:
        data = json.loads(out)
    except ValueError:
        data = None
    if not isinstance(data, dict) or "error" in data or "altas" not in data:
        detail = data["error"] if isinstance(data, dict) and "error" in data else err or out
        return f"falló (código {code}): {_short(str(detail))}"
    bajas = f"bajas {data['bajas']:,}"
    if data.get("bajas_on_hold"):
        bajas += f" ({data['bajas_on_hold']:,} retenidas)"
    parts = [
        f"altas {data['altas']:,}",
        f"cambios {data['cambios']:,}",
        bajas,
        f"pagos {data['pagos']:,}",
        f"inválidos {data['invalid_rows']:,}",
        f"conjuntos publicados {data['published']:,} de {data['change_sets']:,}",
    ]
    if data.get("waited"):
        accepted = f"elementos aceptados {data['accepted']:,}, rechazados {data['rejected']:,}"
        codes = sorted(data.get("rejected_by_code", {}).items(), key=lambda kv: -kv[1])
        if codes:
            accepted += " (" + ", ".join(f"{c} {n:,}" for c, n in codes) + ")"
        parts.append(accepted)
    notes: list[str] = []
    if data["invalid_rows"]:
        report = f": {data['report']}" if data.get("report") else ""
        notes.append(f"con filas inválidas (vea el reporte){report}")
    if data.get("unpublished"):
        notes.append(f"{data['unpublished']:,} conjuntos sin publicar (sisi outbox resend)")
    if data.get("awaiting_receipt"):
        notes.append(f"{data['awaiting_receipt']:,} conjuntos sin acuse (sisi outbox status)")
    if code not in (0, 1):
        notes.append(f"código de salida {code}")
    return " · ".join(parts) + (" — " + "; ".join(notes) if notes else "")


def _period(delivery: int, deliveries: int, today: date | None = None) -> str:
    """The payment month of demo delivery K of N: the current month minus N - K.

    The last delivery pays the current month and earlier ones the months before it (into the
    previous years when N is large), so no payment is ever dated in the future.
    """
    today = today or date.today()
    months_back = max(deliveries - delivery, 0)
    index = today.year * 12 + (today.month - 1) - months_back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _run_until(
    command: list[str], env: Mapping[str, str], stop: threading.Event
) -> tuple[int | None, str, str]:
    """Run a child to completion, or terminate it when ``stop`` is set (exit code ``None``)."""
    with subprocess.Popen(
        command, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        while True:
            try:
                out, err = proc.communicate(timeout=0.5)
                return proc.returncode, out, err
            except subprocess.TimeoutExpired:
                if stop.is_set():
                    proc.terminate()
                    try:
                        out, err = proc.communicate(timeout=10)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        out, err = proc.communicate()
                    return None, out, err


def _demo_faults(env: Mapping[str, str], agreements: list[Agreement], round_: int) -> str:
    """Send round ``round_``'s faults (:mod:`hub.cli.demo_faults`); a one-line summary."""
    from hub.cli.demo_faults import send_faults

    target = agreements[(round_ - 1) % len(agreements)]
    other = agreements[round_ % len(agreements)]
    engine = make_engine(env["SISI_DATABASE_URL"])
    try:
        sent = send_faults(env["SISI_BOOTSTRAP_SERVERS"], engine, target, other)
    except Exception as exc:  # the demo goes on; the hub is what matters
        return f"no se enviaron las fallas de ejemplo: {exc}"
    finally:
        engine.dispose()
    return (
        f"fallas de ejemplo en {target.id}: {'; '.join(sent)} "
        "(vea sisi quarantine list y sisi compliance)"
    )


def _demo_loop(
    agencies: list[DemoAgency],
    env: Mapping[str, str],
    interval: float,
    deliveries: int,
    stop: threading.Event,
    echo: Echo,
    faults: list[Agreement] | None = None,
) -> None:
    for delivery in range(1, deliveries + 1):
        for agency in agencies:
            if stop.is_set():
                return
            echo(f"[demo] {agency.deliver(delivery, env, stop, deliveries)}")
        if faults and not stop.is_set():
            echo(f"[demo] {_demo_faults(env, faults, delivery)}")
        if stop.wait(interval):
            return
    echo("[demo] las agencias de demostración terminaron sus entregas.")


def _environment_line(
    settings: Settings, *, bootstrap_servers: str, registry_url: str, data_dir: Path
) -> str | None:
    """The ``export`` other commands need to reach this stack, when it is not at the defaults."""
    defaults = Settings.model_fields
    wanted: list[tuple[str, str]] = []
    if bootstrap_servers != defaults["bootstrap_servers"].default:
        wanted.append(("SISI_BOOTSTRAP_SERVERS", bootstrap_servers))
    if registry_url != defaults["schema_registry_url"].default:
        wanted.append(("SISI_SCHEMA_REGISTRY_URL", registry_url))
    if settings.data_dir.resolve() != Path(defaults["data_dir"].default).resolve():
        wanted.append(("SISI_DATA_DIR", str(data_dir)))
    if not wanted:
        return None
    pairs = " ".join(f"{name}={shlex.quote(value)}" for name, value in wanted)
    return f"Para los demás comandos: export {pairs}"


class _Workers:
    """The ``sisi hub`` processes of the stack; one that exits is started again."""

    def __init__(self, count: int, env: Mapping[str, str], metrics_port: int) -> None:
        self._env = env
        self._metrics_port = metrics_port
        self.procs: list[subprocess.Popen[bytes]] = []
        self._exits: list[float] = []
        for index in range(count):
            self.procs.append(self._start(index))

    def _start(self, index: int) -> subprocess.Popen[bytes]:
        worker_env = dict(self._env, SISI_METRICS_PORT=str(self._metrics_port + index))
        return subprocess.Popen(_sisi("hub"), env=worker_env)

    def check(self, echo: Echo) -> bool:
        """Start again any worker that exited; False when they keep exiting (stop the stack).

        A worker ends on purpose when a message could not be processed (it is redelivered to
        the next one) or when its audit could not be written; a fresh worker usually goes on.
        """
        for index, proc in enumerate(self.procs):
            if proc.poll() is None:
                continue
            now = time.monotonic()
            self._exits = [t for t in self._exits if now - t < _RESTART_WINDOW] + [now]
            if len(self._exits) > _MAX_RESTARTS:
                echo(
                    f"aviso: los trabajadores del hub terminaron {len(self._exits)} veces en "
                    f"{_RESTART_WINDOW:.0f} s (último código {proc.returncode}); deteniendo todo. "
                    "Revise la bitácora de arriba."
                )
                return False
            echo(
                f"aviso: el trabajador {index} del hub terminó (código {proc.returncode}); "
                "se reinicia (los mensajes sin confirmar se vuelven a entregar)."
            )
            self.procs[index] = self._start(index)
        return True

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def _workers(count: int, env: Mapping[str, str], metrics_port: int) -> Iterator[_Workers]:
    workers = _Workers(count, env, metrics_port)
    try:
        yield workers
    finally:
        workers.stop()


def run_up(
    settings: Settings,
    *,
    broker_port: int,
    registry_port: int,
    metrics_port: int,
    workers: int,
    demo: bool,
    demo_people: int,
    demo_interval: float,
    demo_deliveries: int,
    demo_faults: bool = True,
    echo: Echo = click.echo,
    stop: threading.Event,
) -> None:
    """Bring the stack up, report where everything is, wait for ``stop``, bring it down."""
    if settings.reference_data is None:
        raise ConfigurationError(
            "no se encontraron los datos de referencia (catálogos INEGI, líneas CONEVAL)",
            hint="defina SISI_REFERENCE_DATA con la carpeta de datos (vea README.md).",
        )
    agreements = load_agreements(settings.agreements_dir)
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    database_url = settings.resolved_database_url()
    engine = make_engine(database_url)
    migrate(engine)
    engine.dispose()
    demo_thread: threading.Thread | None = None
    with ExitStack() as stack:
        embedded, specs = stack.enter_context(
            open_broker(broker_port, agreements_dir=settings.agreements_dir,
                        log_path=data_dir / "broker.log")
        )  # fmt: skip
        registry = stack.enter_context(
            running_registry(port=registry_port, database_url=database_url,
                             schemas_dir=settings.schemas_dir)
        )  # fmt: skip
        env = dict(
            os.environ,
            SISI_BOOTSTRAP_SERVERS=embedded.bootstrap_servers,
            SISI_SCHEMA_REGISTRY_URL=registry.url,
            SISI_DATABASE_URL=database_url,
            SISI_DATA_DIR=str(data_dir),
            SISI_AGREEMENTS_DIR=str(settings.agreements_dir),
            SISI_SCHEMAS_DIR=str(settings.schemas_dir),
            SISI_REFERENCE_DATA=str(settings.reference_data),
        )
        procs = stack.enter_context(_workers(workers, env, metrics_port))
        echo("SISI en marcha:")
        echo(f"  broker (Tansu)         {embedded.bootstrap_servers} ({len(specs)} temas, memoria)")
        echo(f"  registro de esquemas   {registry.url}/subjects")
        echo(f"  base del registro      {database_url}")
        for index in range(workers):
            echo(f"  métricas Prometheus    http://127.0.0.1:{metrics_port + index}/metrics")
        echo(
            f"  trabajadores del hub   {workers} (pid {', '.join(str(p.pid) for p in procs.procs)})"
        )
        echo(f"  convenios              {', '.join(agreements.ids)}")
        echo(f"  datos locales          {data_dir}")
        if demo:
            agencies = [
                DemoAgency(
                    a.id, _LAYOUT_SUFFIX[a.layout.format], data_dir / "demo" / a.id, demo_people
                )
                for a in agreements
                if a.kind == "padron" and a.environment == "demo"
            ]
            faults_note = ", y tras cada ronda tres mensajes que el hub debe rechazar"
            echo(
                f"  agencias de demo       {len(agencies)}, una entrega cada {demo_interval:g} s"
                + (faults_note if demo_faults else "")
            )
            faulty = [a for a in agreements if a.id in {d.agreement_id for d in agencies}]
            thread = threading.Thread(
                target=_demo_loop,
                args=(agencies, env, demo_interval, demo_deliveries, stop, echo),
                kwargs={"faults": faulty if demo_faults else None},
                name="demo-agencies",
                daemon=True,
            )
            thread.start()
            demo_thread = thread
        echo(
            "Consultas: sisi registry stats · sisi compliance · sisi audit verify. "
            "Ctrl-C para detener."
        )
        exports = _environment_line(
            settings,
            bootstrap_servers=embedded.bootstrap_servers,
            registry_url=registry.url,
            data_dir=data_dir,
        )
        if exports:
            echo(exports)
        while not stop.wait(1.0):
            if not procs.check(echo):
                break
        echo("Deteniendo SISI…")
        stop.set()
        if demo_thread is not None:
            demo_thread.join(30)
    echo("SISI detenido.")


@click.command("up")
@click.option(
    "--demo", is_flag=True, help="Con agencias de demostración entregando padrones sintéticos."
)
@click.option("--port", "broker_port", type=click.IntRange(1, 65535), default=9092,
              show_default=True,
              help="Puerto del broker embebido.")  # fmt: skip
@click.option("--registry-port", type=click.IntRange(1, 65535), default=8081, show_default=True,
              help="Puerto del registro de esquemas.")  # fmt: skip
@click.option("--metrics-port", type=click.IntRange(1, 65535), default=9100, show_default=True,
              help="Puerto de métricas del primer trabajador; los demás siguen.")  # fmt: skip
@click.option("--workers", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Procesos trabajadores del hub.")  # fmt: skip
@click.option("--demo-people", type=click.IntRange(10, 1_000_000), default=2000, show_default=True,
              help="Personas por padrón de demostración.")  # fmt: skip
@click.option("--demo-interval", type=click.FloatRange(1, 3600), default=30.0, show_default=True,
              help="Segundos entre entregas de demostración.")  # fmt: skip
@click.option("--demo-deliveries", type=click.IntRange(1, 1000), default=12, show_default=True,
              help="Entregas por agencia de demostración.")  # fmt: skip
@click.option("--demo-faults/--no-demo-faults", default=True, show_default=True,
              help="Tras cada ronda, enviar un programa fuera de convenio, un mensaje repetido "
                   "y una firma ajena, para ver al hub rechazarlos.")  # fmt: skip
def up(
    demo: bool,
    broker_port: int,
    registry_port: int,
    metrics_port: int,
    workers: int,
    demo_people: int,
    demo_interval: float,
    demo_deliveries: int,
    demo_faults: bool,
) -> None:
    """Levanta todo SISI embebido: broker, registro, esquemas, trabajadores del hub (y demo)."""
    with stop_signals() as stop:
        run_up(
            get_settings(),
            broker_port=broker_port,
            registry_port=registry_port,
            metrics_port=metrics_port,
            workers=workers,
            demo=demo,
            demo_people=demo_people,
            demo_interval=demo_interval,
            demo_deliveries=demo_deliveries,
            demo_faults=demo_faults,
            stop=stop,
        )
