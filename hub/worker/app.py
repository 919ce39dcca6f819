"""The faust app of a hub worker: consume every padrón agreement's topic, one pipeline call each.

Subscription: the change-set topics of the padrón agreements on disk, plus those of padrón
agreements given de baja (file removed): their messages must still end in quarantine with a
reason (``CONVENIO_DADO_DE_BAJA``, see ``hub.worker.removed``), so a topic once consumed stays
consumed. An edited agreement is reloaded by the gatekeeper before the next message. An
agreement added changes the topics: every ``AGREEMENT_POLL_SECONDS`` the worker looks at the
directory, and when the topics differ it creates the new agreement's topics, stops cleanly
(offsets of finished batches committed) and exits with ``EXIT_RESUBSCRIBE``; ``sisi hub`` then
starts it again at once on the new list (a single worker re-executes itself, keeping its process
id). faust cannot change an agent's topics while running (its pattern subscription does not work
with aiokafka), and a fixed list keeps the consumer group's assignment predictable on the
embedded broker. Survey (encuesta) agreements are not consumed here. Agreement changes and
contract versions are recorded in the audit log at start and on the same timer
(``hub.worker.changes``).

The consumer asks the broker to answer a fetch after at most ``FETCH_MAX_WAIT_MS`` when there
is nothing new: faust hard-codes 1,500 ms, and the embedded broker (Tansu) holds an empty fetch
for that long instead of answering when data arrives, which put ~500 ms of waiting into the
publish → registry latency of a live change set. An idle worker then sends a few more fetches a
second, which costs nothing measurable.

Messages are processed in batches (up to ``BATCH_MESSAGES``, waiting at most ``BATCH_WINDOW`` for
more): one transaction, one audit signature and one wait for the broker's acknowledgement of the
receipts per batch instead of per message. faust commits a batch's offsets only after the batch
returns. The pipeline is synchronous (database, signatures); it runs in one worker thread so the
event loop keeps heartbeating the consumer group. An unexpected error ends the process without
committing the batch's offsets: its messages are redelivered to whichever worker takes over.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import faust
from faust.streams import Stream
from faust.types import StreamT

from hub.agreements.loader import AgreementSet, LastGood
from hub.broker.topics import ensure_topics, topics_for_agreements
from hub.compliance.metrics import ComplianceCollector
from hub.db import make_engine
from hub.errors import SisiError
from hub.settings import Settings
from hub.topics import agreement_changes
from hub.worker.assembly import build_pipeline
from hub.worker.changes import record_at_start, watch_changes
from hub.worker.gctune import tune_gc
from hub.worker.pipeline import BATCH_MESSAGES, HubPipeline, KafkaMessage
from hub.worker.public import publish_public
from hub.worker.publisher import KafkaPublisher
from hub.worker.removed import agreement_of, removed_topics
from hub.worker.supervisor import EXIT_RESUBSCRIBE
from hub.worker.versions import StoredVersions

__all__ = [
    "AGREEMENT_POLL_SECONDS",
    "APP_ID",
    "BATCH_WINDOW",
    "EXIT_PIPELINE_FAILED",
    "EXIT_RESUBSCRIBE",
    "FETCH_MAX_WAIT_MS",
    "AgreementWatch",
    "create_app",
    "run_worker",
    "subscribed_topics",
]

_log = logging.getLogger(__name__)

#: Consumer group of every hub worker (they share the partitions).
APP_ID = "sisi-hub"
#: Exit status of a worker whose pipeline failed on a message (it will be redelivered).
EXIT_PIPELINE_FAILED = 70
#: Longest the broker may hold a fetch that has no new records (milliseconds).
FETCH_MAX_WAIT_MS = 20
#: Longest a message waits for others to fill its batch (seconds).
BATCH_WINDOW = 0.01
#: Seconds between looks at the agreements directory for padrón agreements added or removed.
AGREEMENT_POLL_SECONDS = 5.0


def _short_fetch_wait() -> None:
    """Make faust's worker consumer use ``FETCH_MAX_WAIT_MS`` (faust has no setting for it)."""
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    thread: Any = AIOKafkaConsumerThread
    if getattr(thread, "_sisi_fetch_wait", False):
        return
    create = thread._create_worker_consumer

    def create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = create(self, transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read by aiokafka's start()
        return consumer

    thread._create_worker_consumer = create_worker_consumer
    thread._sisi_fetch_wait = True


def subscribed_topics(agreements: AgreementSet, removed: Iterable[str] = ()) -> list[str]:
    """The change-set topics of the padrón agreements and the ``removed`` topics, sorted."""
    return sorted({a.changes_topic for a in agreements if a.kind == "padron"} | set(removed))


def _removed_kept(agreements: AgreementSet, topics: Iterable[str]) -> list[str]:
    """Of ``topics`` (subscribed now), those of agreements no longer loaded: they stay."""
    loaded = {agreement_changes(agreement_id) for agreement_id in agreements.ids}
    return sorted(topic for topic in topics if topic not in loaded)


def _headers(raw: Any) -> tuple[tuple[str, bytes | None], ...]:
    if not raw:
        return ()
    pairs: Iterable[Any] = raw.items() if isinstance(raw, dict) else raw
    return tuple(
        (k.decode() if isinstance(k, bytes) else str(k), None if v is None else bytes(v))
        for k, v in pairs
    )


class AgreementWatch:
    """Notices when the padrón agreements on disk need other topics than the worker's."""

    def __init__(
        self, settings: Settings, topics: list[str], last_good: LastGood | None = None
    ) -> None:
        self.settings = settings
        self.topics = topics
        self.changed = False
        #: The worker's source of a broken file's last good version (its sets must agree).
        self.last_good = last_good

    def check(self) -> bool:
        """Look at the agreements directory; True (and topics created) when the topics differ.

        A directory that does not load (a file being edited, an error in it) is left for the next
        look: the worker goes on with the agreements it has.
        """
        try:
            agreements = AgreementSet(self.settings.agreements_dir, self.last_good)
        except SisiError as exc:
            # the gatekeeper's reload, in the same look, reports it (once per broken state)
            _log.debug("los convenios no se pudieron releer (se reintentará): %s", exc)
            return False
        # a removed agreement's topic stays (its messages are refused as CONVENIO_DADO_DE_BAJA)
        wanted = subscribed_topics(agreements, _removed_kept(agreements, self.topics))
        if wanted == self.topics:
            return False
        ensure_topics(self.settings.bootstrap_servers, topics_for_agreements(agreements.ids))
        added = sorted(set(wanted) - set(self.topics))
        removed = sorted(set(self.topics) - set(wanted))
        _log.warning(
            "convenios de padrón cambiados (nuevos temas: %s; retirados: %s): el worker se "
            "reinicia para suscribirse",
            ", ".join(added) or "ninguno",
            ", ".join(removed) or "ninguno",
        )
        self.changed = True
        return True


def create_app(
    settings: Settings,
    pipeline: HubPipeline,
    topics: list[str],
    *,
    publish_interval: float,
    watch: AgreementWatch | None = None,
) -> faust.App:
    """The faust app: one agent over ``topics``, a timer for the public outputs and, with
    ``watch``, one that stops the worker when the agreements need other topics."""
    _short_fetch_wait()
    brokers = [f"kafka://{server.strip()}" for server in settings.bootstrap_servers.split(",")]
    app = faust.App(
        APP_ID,
        broker=brokers,
        value_serializer="raw",
        store="memory://",
        datadir=str(settings.data_dir / "faust"),  # not "sisi-hub-data" in the current directory
        web_enabled=False,
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=10,
        producer_acks=-1,
    )
    source = app.topic(*topics, value_type=bytes, value_serializer="raw")
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sisi-pipeline")

    async def gatekeeper(stream: StreamT[Any]) -> None:
        loop = asyncio.get_running_loop()
        batches = cast(Stream[Any], stream)  # take_events is not on the StreamT protocol
        async for events in batches.take_events(BATCH_MESSAGES, within=BATCH_WINDOW):
            batch = [
                KafkaMessage(
                    event.message.topic,
                    event.message.partition,
                    event.message.offset,
                    bytes(event.value),
                    _headers(event.message.headers),
                )
                for event in events
            ]
            try:
                await loop.run_in_executor(executor, pipeline.process_batch, batch)
            except Exception:
                first = batch[0]
                _log.exception(
                    "falló el procesamiento de %s mensajes desde %s/%s/%s; el worker termina sin "
                    "confirmar las posiciones y los mensajes se volverán a entregar",
                    len(batch),
                    first.topic,
                    first.partition,
                    first.offset,
                )
                logging.shutdown()
                os._exit(EXIT_PIPELINE_FAILED)

    app.agent(source, name="gatekeeper")(gatekeeper)

    async def publish() -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(executor, publish_public, pipeline, None)
        except Exception:
            _log.exception("no se publicaron la cabeza de auditoría ni los tableros")

    app.timer(interval=publish_interval, name="public-outputs")(publish)

    async def look_at_agreements() -> None:
        loop = asyncio.get_running_loop()
        try:  # new contract versions; an edited agreement even while no message arrives
            await loop.run_in_executor(
                executor, watch_changes, pipeline.engine, pipeline.audit, pipeline.gatekeeper
            )
        except Exception:
            _log.exception(
                "los convenios recargados no quedaron en la bitácora de auditoría; el worker "
                "termina y al reiniciarse los registra"
            )
            logging.shutdown()
            os._exit(EXIT_PIPELINE_FAILED)
        if watch is None or watch.changed:
            return
        try:
            changed = await loop.run_in_executor(executor, watch.check)
        except Exception:
            _log.exception("no se pudo revisar el directorio de convenios")
            return
        if changed:
            os.kill(os.getpid(), signal.SIGTERM)  # faust's clean stop; run_worker reports why

    app.timer(interval=AGREEMENT_POLL_SECONDS, name="agreements-watch")(look_at_agreements)
    return app


#: Seconds a stop request (SIGTERM, Ctrl-C) may take before the worker exits anyway. With the
#: broker gone, faust's consumer retries while shutting down (a worker was seen ignoring SIGTERM
#: for over 40 s). Exiting then is safe: nothing is committed before its batch is stored, so the
#: next worker gets the unfinished batch again (the same as a crash).
STOP_DEADLINE_SECONDS = 15.0


#: Stop requests that arrived before faust's own handlers were installed (see ``run_worker``).
_EARLY_STOPS: list[signal.Signals] = []


def _remember_stop(signum: int, _frame: object) -> None:
    _EARLY_STOPS.append(signal.Signals(signum))


class _Worker(faust.Worker):
    """faust's worker, with a deadline on stopping when asked to stop from outside, and honouring
    a stop asked for while it was still starting."""

    watch: AgreementWatch | None = None

    def install_signal_handlers(self) -> None:
        super().install_signal_handlers()
        if _EARLY_STOPS:  # SIGTERM/SIGINT while starting: stop now, cleanly
            self._schedule_shutdown(_EARLY_STOPS[0])

    def _schedule_shutdown(self, signum: signal.Signals) -> None:
        if self.watch is None or not self.watch.changed:  # a resubscribe stops by itself
            _arm_stop_deadline()
        super()._schedule_shutdown(signum)


def _arm_stop_deadline() -> None:
    def expire() -> None:
        _log.warning(
            "el worker no terminó %.0f s después de pedírsele (¿broker caído?): sale sin esperar; "
            "el lote sin terminar se vuelve a procesar al reanudar",
            STOP_DEADLINE_SECONDS,
        )
        logging.shutdown()
        os._exit(0)

    timer = threading.Timer(STOP_DEADLINE_SECONDS, expire)
    timer.daemon = True
    timer.start()


def run_worker(
    settings: Settings,
    *,
    metrics_port: int | None,
    publish_interval: float = 60.0,
    loglevel: str = "warning",
) -> int:
    """Run one worker until it is stopped (SIGTERM/SIGINT stop it cleanly); its exit status.

    ``EXIT_RESUBSCRIBE`` when it stopped because the agreements need other topics (start it
    again), 0 otherwise.
    """
    # until faust installs its handlers, a SIGTERM (a supervisor or a test stopping the worker
    # right after /metrics answered) would kill the process uncleanly: remember it instead
    _EARLY_STOPS.clear()
    signal.signal(signal.SIGTERM, _remember_stop)
    signal.signal(signal.SIGINT, _remember_stop)
    engine = make_engine(settings.resolved_database_url())
    # a file that does not load keeps the version the hub audited last (in every worker, after
    # every restart), not only the one this process saw
    last_good = StoredVersions(engine)
    agreements = AgreementSet(settings.agreements_dir, last_good)
    publisher = KafkaPublisher(settings.bootstrap_servers)
    pipeline = build_pipeline(settings, publisher, engine=engine, agreements=agreements)
    # what changed while no worker looked (other workers record the same changes once)
    record_at_start(pipeline.engine, pipeline.audit, agreements)
    removed = removed_topics(pipeline.engine, agreements.ids)
    if removed:
        ids = [agreement_of(topic) for topic in removed]
        ensure_topics(settings.bootstrap_servers, topics_for_agreements(ids))
        _log.warning(
            "convenios dados de baja: sus temas se siguen leyendo y sus mensajes van a la "
            "cuarentena (CONVENIO_DADO_DE_BAJA): %s",
            ", ".join(removed),
        )
    topics = subscribed_topics(agreements, removed)
    demo = [agreement.id for agreement in agreements if agreement.environment == "demo"]
    if demo:
        _log.warning(
            "convenios de demostración (sus claves privadas se calculan a partir de su clave: "
            "cualquiera puede firmar por esas dependencias; no los use en producción): %s",
            ", ".join(demo),
        )
    if metrics_port:
        from prometheus_client import REGISTRY, start_http_server

        REGISTRY.register(ComplianceCollector(pipeline.engine, agreements))
        try:
            start_http_server(metrics_port, addr=settings.metrics_host)
        except OSError as exc:
            host = settings.metrics_host
            _log.warning("sin /metrics: %s:%s no está disponible (%s)", host, metrics_port, exc)
    tune_gc()
    watch = AgreementWatch(settings, topics, last_good)
    app = create_app(settings, pipeline, topics, publish_interval=publish_interval, watch=watch)
    _log.info("worker %s: %s temas, %s", os.getpid(), len(topics), dt.datetime.now(dt.UTC))
    worker = _Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    worker.watch = watch
    if not sys.stdout.isatty():
        worker.spinner = None  # its cursor codes would land in logs and in `sisi up`'s output
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        if not watch.changed:
            raise
        if exc.code not in (None, 0):
            _log.warning("el worker terminó con estado %s al resuscribirse", exc.code)
    return EXIT_RESUBSCRIBE if watch.changed else 0
