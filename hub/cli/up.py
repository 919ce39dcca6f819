"""``sisi up``: the whole embedded stack in one command, and with ``--demo`` the sample agencies.

What runs, in this process or as children of it:

- the embedded Kafka-protocol broker (Tansu) with every agreement's topics,
- the registry database (SQLite under the data directory unless ``SISI_DATABASE_URL`` says
  otherwise), migrated, and the hub's Schema Registry API seeded from ``avro_schemas/``,
- ``--workers`` hub worker processes (``sisi hub``) sharing the agency topics' partitions,
- with ``--demo``: every padrón agreement's agency delivering synthetic padrones
  (:mod:`hub.cli.demo_agencies`) in ``--demo-deliveries`` rounds: in each, every agency sends its
  next delivery with realistic churn, one after another, then three messages the hub must refuse
  (``hub.cli.demo_faults``; ``--no-demo-faults`` leaves them out), then a pause of
  ``--demo-interval`` seconds. After the last round the agencies stop; the hub goes on.

One ``sisi up`` at a time per data directory: it holds a lock on it for its whole life (released
by the OS however it ends), and a second one, with or without ``--reset``, is refused before it
touches anything (:func:`hub.cli.local_state.hold_data_dir`). Every port is checked before
anything starts. The data directory is kept between runs (the demo
goes on where it stopped) and the banner says so; ``--reset`` removes it after asking
(:mod:`hub.cli.local_state`). Ctrl-C (or SIGTERM) stops everything in reverse order; a
``sisi up`` killed outright takes its children with it (:mod:`hub.cli.children`).
"""

from __future__ import annotations

import errno
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Final

import click

from hub.agreements import Agreement, AgreementSet, load_agreements
from hub.cli.broker import open_broker, stop_signals
from hub.cli.children import child_options
from hub.cli.demo_agencies import DemoAgency, demo_loop, last_delivery
from hub.cli.local_state import hold_data_dir, previous_data, remove_previous_data
from hub.db import make_engine, migrate
from hub.errors import ConfigurationError
from hub.schema_registry.server import running_registry
from hub.settings import Settings, get_settings

__all__ = ["check_ports", "demo_banner", "up"]

Echo = Callable[[str], None]

#: Worker exits within ``_RESTART_WINDOW`` seconds after which ``sisi up`` gives up.
_MAX_RESTARTS = 5
_RESTART_WINDOW = 60.0
#: Padrón size of the demo agencies when neither the option nor an earlier run says otherwise.
DEFAULT_DEMO_PEOPLE = 2000


def _sisi(*args: str) -> list[str]:
    """The command line that runs ``sisi`` with this interpreter (no PATH assumptions)."""
    return [sys.executable, "-m", "hub.cli", *args]


_BIND_ERRORS: Final = {
    errno.EADDRINUSE: "ya está en uso",
    errno.EACCES: "no hay permiso para usarlo (los puertos menores que 1024 piden privilegios)",
    errno.EADDRNOTAVAIL: "la dirección no es de esta máquina (vea SISI_METRICS_HOST)",
}


def _port_in_use(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (None: it can).

    Checked with ``SO_REUSEADDR``, as the stack's servers bind: a port whose last connections
    are closing (TIME_WAIT, after a run just stopped) is free to them.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return _BIND_ERRORS.get(exc.errno or 0, exc.strerror or str(exc))
    return None


def check_ports(
    *, broker_port: int, registry_port: int, metrics_port: int, workers: int, metrics_host: str
) -> None:
    """Refuse, before anything starts, when a port the stack needs is taken.

    The metrics ports (one per worker, from ``metrics_port``) are checked on ``metrics_host``
    (``SISI_METRICS_HOST``), where the workers listen.
    """
    wanted = [
        ("broker", "127.0.0.1", broker_port, "--port"),
        ("registro de esquemas", "127.0.0.1", registry_port, "--registry-port"),
    ]
    wanted += [
        (f"métricas del trabajador {i}", metrics_host, metrics_port + i, "--metrics-port")
        for i in range(workers)
    ]
    seen: dict[int, str] = {}
    for what, host, port, option in wanted:
        if port > 65535:
            raise ConfigurationError(
                f"el puerto de {what} sería {port}, más allá de 65535",
                hint=f"elija un {option} menor.",
            )
        if port in seen:
            raise ConfigurationError(
                f"el puerto {port} se pidió para {seen[port]} y para {what}",
                hint="use un puerto distinto para cada uno (las métricas usan uno por "
                "trabajador, desde --metrics-port).",
            )
        seen[port] = what
        reason = _port_in_use(host, port)
        if reason is not None:
            raise ConfigurationError(
                f"no se puede abrir el puerto {host}:{port} ({what}): {reason}",
                hint=f"detenga el proceso que usa el puerto {port} (p. ej. otro 'sisi up') "
                f"o elija otro con {option}.",
            )


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
        return subprocess.Popen(_sisi("hub"), env=worker_env, **child_options())

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
        # children run in their own process group (hub.cli.children): Ctrl-C reaches them here
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


def _confirm_reset(data_dir: Path, found: list[str], *, yes: bool) -> None:
    """Ask before ``--reset`` removes anything (``--yes``: do not ask)."""
    if yes or not found:
        return
    if not sys.stdin.isatty():
        raise ConfigurationError(
            f"--reset borraría {', '.join(found)} en {data_dir} y no hay terminal para confirmarlo",
            hint="agregue --yes para borrar sin preguntar.",
        )
    answer = click.prompt(
        f"¿Borrar los datos de las corridas anteriores en {data_dir} ({', '.join(found)})? "
        "Se conserva la llave del hub (keys/). [s/N]",
        default="n",
        show_default=False,
    )
    if answer.strip().lower() not in {"s", "si", "sí"}:
        raise click.Abort


def _demo_agencies(
    agreements: list[Agreement], data_dir: Path, people: int | None
) -> tuple[list[DemoAgency], int | None]:
    """Every demo padrón agreement's agency, at the delivery its snapshot holds; and the size an
    earlier run used when ``people`` asks for another one (that size is kept)."""
    agencies: list[DemoAgency] = []
    kept: int | None = None
    for agreement in agreements:
        if agreement.kind != "padron" or agreement.environment != "demo":
            continue
        workdir = data_dir / "demo" / agreement.id
        # the agency's snapshot, as producers.store names it
        delivered, before = last_delivery(
            workdir, data_dir / "producer" / f"{agreement.id}.sqlite3"
        )
        size = people or DEFAULT_DEMO_PEOPLE
        if delivered and before is not None and before != size:
            if people is not None:
                kept = before
            size = before
        agencies.append(DemoAgency(agreement, workdir, size, delivered))
    return agencies, kept


def demo_banner(
    agencies: list[DemoAgency], interval: float, deliveries: int, *, faults: bool
) -> str:
    """What the demo agencies will do, for the banner: rounds, pause, where each one starts.

    A round is every agency's next delivery, one after another (each takes about a quarter of a
    minute with 2,000 people), then the faults, then a pause of ``interval`` seconds.
    """
    rounds = "1 ronda" if deliveries == 1 else f"{deliveries} rondas"
    text = (
        f"{len(agencies)}; {rounds} en esta corrida: en cada una, cada agencia envía su "
        f"siguiente entrega (una tras otra), y {interval:g} s de pausa entre rondas"
    )
    starts = sorted({a.next_delivery for a in agencies})
    if len(starts) == 1 and starts[0] > 1:
        text += f"; siguen desde la entrega {starts[0]}"
    elif len(starts) > 1:  # a run stopped mid-round: each agency goes on from its own delivery
        text += "; siguen desde la entrega " + ", ".join(
            f"{a.next_delivery} ({a.agreement_id})" for a in agencies
        )
    if faults:
        text += "; tras cada ronda, tres mensajes que el hub debe rechazar"
    return text


def run_up(
    settings: Settings,
    *,
    broker_port: int,
    registry_port: int,
    metrics_port: int,
    workers: int,
    demo: bool,
    demo_people: int | None,
    demo_interval: float,
    demo_deliveries: int,
    demo_faults: bool = True,
    reset: bool = False,
    yes: bool = False,
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
    with hold_data_dir(data_dir):
        _run_up(
            settings,
            agreements=agreements,
            data_dir=data_dir,
            broker_port=broker_port,
            registry_port=registry_port,
            metrics_port=metrics_port,
            workers=workers,
            demo=demo,
            demo_people=demo_people,
            demo_interval=demo_interval,
            demo_deliveries=demo_deliveries,
            demo_faults=demo_faults,
            reset=reset,
            yes=yes,
            echo=echo,
            stop=stop,
        )


def _run_up(
    settings: Settings,
    *,
    agreements: AgreementSet,
    data_dir: Path,
    broker_port: int,
    registry_port: int,
    metrics_port: int,
    workers: int,
    demo: bool,
    demo_people: int | None,
    demo_interval: float,
    demo_deliveries: int,
    demo_faults: bool,
    reset: bool,
    yes: bool,
    echo: Echo,
    stop: threading.Event,
) -> None:
    """:func:`run_up` once this process holds the data directory."""
    check_ports(
        broker_port=broker_port,
        registry_port=registry_port,
        metrics_port=metrics_port,
        workers=workers,
        metrics_host=settings.metrics_host,
    )
    database_url = settings.resolved_database_url()
    if reset:
        found = previous_data(data_dir)
        _confirm_reset(data_dir, found, yes=yes)
        removed = remove_previous_data(data_dir, database_url=database_url)
        echo(
            f"Datos anteriores borrados en {data_dir}: {', '.join(removed)}."
            if removed
            else f"No había datos anteriores en {data_dir}."
        )
    kept_data = previous_data(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(database_url)
    migrate(engine)
    engine.dispose()
    agencies: list[DemoAgency] = []
    kept_people: int | None = None
    if demo:
        agencies, kept_people = _demo_agencies(list(agreements), data_dir, demo_people)
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
        if kept_data:
            again = "sisi up --demo --reset" if demo else "sisi up --reset"
            echo(
                f"  datos anteriores       se conservan los de la corrida anterior en {data_dir} "
                f"(registro, bitácora, bandejas de las agencias); para empezar de cero: {again}"
            )
        if demo:
            echo(
                "  agencias de demo       "
                + demo_banner(agencies, demo_interval, demo_deliveries, faults=demo_faults)
            )
            if kept_people is not None:
                echo(
                    f"  aviso: la demo sigue con {kept_people:,} personas por padrón, las de la "
                    "corrida anterior; para otro tamaño empiece de cero con --reset"
                )
            echo(f"  archivos de la demo    {data_dir / 'demo'}")
            faulty = [a for a in agreements if a.id in {d.agreement_id for d in agencies}]
            thread = threading.Thread(
                target=demo_loop,
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
@click.option("--demo-people", type=click.IntRange(10, 1_000_000), default=None,
              help="Personas por padrón de demostración (por defecto "
                   f"{DEFAULT_DEMO_PEOPLE:,}, o las de la corrida anterior, que se "
                   "conservan).")  # fmt: skip
@click.option("--demo-interval", type=click.FloatRange(1, 3600), default=30.0, show_default=True,
              help="Segundos de pausa entre rondas de entregas de demostración (en cada ronda "
                   "cada agencia envía una entrega, una tras otra).")  # fmt: skip
@click.option("--demo-deliveries", type=click.IntRange(1, 1000), default=12, show_default=True,
              help="Rondas de entregas en esta corrida: una entrega por agencia en cada una "
                   "(siguen a las de corridas anteriores); después las agencias se "
                   "detienen y el hub sigue en marcha.")  # fmt: skip
@click.option("--demo-faults/--no-demo-faults", default=True, show_default=True,
              help="Tras cada ronda, enviar un programa fuera de convenio, un mensaje repetido "
                   "y una firma ajena, para ver al hub rechazarlos.")  # fmt: skip
@click.option("--reset", is_flag=True,
              help="Empezar de cero: borra, tras confirmarlo, el registro, la bitácora, las "
                   "bandejas de las agencias y los archivos de la demo de corridas anteriores "
                   "(conserva la llave del hub).")  # fmt: skip
@click.option("--yes", is_flag=True, help="Con --reset: borrar sin preguntar.")
def up(
    demo: bool,
    broker_port: int,
    registry_port: int,
    metrics_port: int,
    workers: int,
    demo_people: int | None,
    demo_interval: float,
    demo_deliveries: int,
    demo_faults: bool,
    reset: bool,
    yes: bool,
) -> None:
    """Levanta todo SISI embebido: broker, registro, esquemas, trabajadores del hub (y demo).

    Los datos se conservan entre corridas (la demo sigue donde se quedó); --reset empieza de
    cero.
    """
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
            reset=reset,
            yes=yes,
            stop=stop,
        )
