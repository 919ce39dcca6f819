"""The faust app of a hub worker: consume every padrón agreement's topic, one pipeline call each.

Subscription: the change-set topics of the padrón agreements loaded at start. An agreement added
later needs a worker restart (an edited agreement does not: the gatekeeper reloads the files).
A fixed list, rather than a pattern subscription, keeps the consumer group's assignment
predictable on the embedded broker. Survey (encuesta) agreements are not consumed here.

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
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import faust
from faust.streams import Stream

from hub.agreements.loader import AgreementSet
from hub.compliance.metrics import ComplianceCollector
from hub.settings import Settings
from hub.worker.assembly import build_pipeline
from hub.worker.pipeline import BATCH_MESSAGES, HubPipeline, KafkaMessage
from hub.worker.public import publish_public
from hub.worker.publisher import KafkaPublisher

__all__ = [
    "APP_ID",
    "BATCH_WINDOW",
    "EXIT_PIPELINE_FAILED",
    "FETCH_MAX_WAIT_MS",
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


def subscribed_topics(agreements: AgreementSet) -> list[str]:
    """The change-set topics of the padrón agreements, sorted."""
    return sorted(a.changes_topic for a in agreements if a.kind == "padron")


def _headers(raw: Any) -> tuple[tuple[str, bytes | None], ...]:
    if not raw:
        return ()
    pairs: Iterable[Any] = raw.items() if isinstance(raw, dict) else raw
    return tuple(
        (k.decode() if isinstance(k, bytes) else str(k), None if v is None else bytes(v))
        for k, v in pairs
    )


def create_app(
    settings: Settings, pipeline: HubPipeline, topics: list[str], *, publish_interval: float
) -> faust.App:
    """The faust app: one agent over ``topics`` and a timer for the public outputs."""
    _short_fetch_wait()
    brokers = [f"kafka://{server.strip()}" for server in settings.bootstrap_servers.split(",")]
    app = faust.App(
        APP_ID,
        broker=brokers,
        value_serializer="raw",
        store="memory://",
        web_enabled=False,
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=10,
        producer_acks=-1,
    )
    source = app.topic(*topics, value_type=bytes, value_serializer="raw")
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sisi-pipeline")

    async def gatekeeper(stream: Stream[Any]) -> None:
        loop = asyncio.get_running_loop()
        async for events in stream.take_events(BATCH_MESSAGES, within=BATCH_WINDOW):
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
    return app


def run_worker(
    settings: Settings,
    *,
    metrics_port: int | None,
    publish_interval: float = 60.0,
    loglevel: str = "warning",
) -> None:
    """Run one worker until it is stopped (SIGTERM/SIGINT stop it cleanly)."""
    agreements = AgreementSet(settings.agreements_dir)
    topics = subscribed_topics(agreements)
    publisher = KafkaPublisher(settings.bootstrap_servers)
    pipeline = build_pipeline(settings, publisher, agreements=agreements)
    if metrics_port:
        from prometheus_client import REGISTRY, start_http_server

        REGISTRY.register(ComplianceCollector(pipeline.engine, agreements))
        try:
            start_http_server(metrics_port)
        except OSError as exc:
            _log.warning("sin /metrics: el puerto %s no está disponible (%s)", metrics_port, exc)
    app = create_app(settings, pipeline, topics, publish_interval=publish_interval)
    _log.info("worker %s: %s temas, %s", os.getpid(), len(topics), dt.datetime.now(dt.UTC))
    worker = faust.Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
