"""End-to-end hub benchmark: signed change sets on the agency topic → registry rows + audit entries.

Usage: ``python bench/bench_hub.py [--items N] [--size S] [--db sqlite|postgresql|both]
[--latency-seconds T] [--skip-latency] [--profile]``. Prints figures; asserts nothing.

Everything runs in this process's own sandbox: an EmbeddedBroker on a free port (a fresh one per
run, so the hub's consumer group starts at offset 0), a fresh SQLite file and a scratch PostgreSQL
database (created on ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres`` and dropped).

Per database:

- **hub**: N valid synthetic PAM items (``producers.synth``) in signed change sets of S items are
  published first; then the real ``sisi hub --workers W`` (W = 1 and 2) starts, and the clock
  runs from the first message in the processed-messages ledger to the last one (the ledger row is
  committed after the message's registry rows and audit entries). Items/s counts the items after
  the first message. The registry's applied items and the audit log are counted at the end.
- **raw ceiling**: on the same topic, a plain confluent-kafka consumer + fastavro decode + bulk
  insert of the same items into one plain table (``executemany`` on SQLite, ``COPY`` on
  PostgreSQL), one committed transaction per change set. Measured before and after the hub runs
  (the machine is shared); the mean is the ceiling. Printed: both rates and hub/raw.
- **write floor**: the rows the last hub run committed (registry, ledgers, audit, compliance),
  read back and bulk-inserted into a fresh database with the same schema (``executemany`` /
  ``COPY``, the hub's batches, key order): what only storing them costs. Printed against the raw
  ceiling, and each hub figure as a fraction of it.
- **latency**: ``sisi hub --workers 1`` running and caught up; change sets of 50 items every
  50 ms (1,000 items/s) for T seconds; per change set, publish → its receipt read from the
  agreement's receipt topic (the hub publishes it after the commit that makes the rows visible,
  so this is an upper bound of publish → visible). Prints p50/p95/p99/max.

``--profile`` runs ``HubPipeline.process`` in this process under cProfile on SQLite (no Kafka:
a recording publisher) and prints the top functions by cumulative and by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from fastavro import schemaless_reader
from scratchdb import PG_SERVER, scratch_databases
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from hub.agreements.keys import demo_private_key
from hub.agreements.loader import AgreementSet
from hub.agreements.model import Agreement
from hub.broker import EmbeddedBroker, ensure_topics, topics_for_agreements
from hub.contracts.wire import split
from hub.db import make_engine
from hub.envelope import seal
from hub.schema_registry.store import SchemaStore
from hub.settings import REPO_ROOT, Settings
from hub.topics import agreement_receipts
from hub.worker import prepare_database
from producers.changeset import ChangeSetCodec, ChangeSetHeader, epoch_days
from producers.synth.padron import padron_blocks

__all__ = ["main"]

AGREEMENT = "CONV-BIENESTAR-PAM-2026"
#: The payment date of ``--workload pagos``.
PAID_ON = dt.date(2026, 10, 15)
SUBJECT = "mx.gob.sisi.padron.ChangeSet"
SISI = REPO_ROOT / ".venv" / "bin" / "sisi"
_BOOL = {"S": True, "N": False}
RAW_COLUMNS = (
    "message_id", "reference_id", "operation", "effective_date", "curp", "primer_apellido",
    "segundo_apellido", "nombre", "fecha_nacimiento", "entidad_nacimiento", "sexo",
    "clave_programa", "tipo_beneficio", "monto", "fecha_beneficio", "cve_ent", "cve_mun",
    "cve_loc",
)  # fmt: skip

Headers = list[tuple[str, str | bytes | None]]
Message = tuple[str, bytes, Headers]  # (message_id, value, headers)


def _load() -> tuple[Settings, Agreement]:
    settings = Settings()
    return settings, AgreementSet(settings.agreements_dir).get(AGREEMENT)


def _codec(engine: Engine, agreement: Agreement) -> ChangeSetCodec:
    store = SchemaStore(engine)
    version = max(v for c in agreement.contracts if c.subject == SUBJECT for v in c.versions)
    registered = store.get_version(SUBJECT, version)
    import json

    return ChangeSetCodec(
        registered.id,
        json.loads(registered.schema),
        scope=tuple(agreement.scope.fields),
        periodicity=agreement.programs[0].benefit.periodicity,
    )


def build_messages(
    codec: ChangeSetCodec,
    agreement: Agreement,
    items: int,
    size: int,
    seed: int,
    operation: str = "ALTA",
) -> list[Message]:
    """``items`` valid synthetic items in signed change sets of ``size`` (one delivery).

    ``operation`` "PAGO": the month's payment of the same rows (``seed``), paid on
    :data:`PAID_ON`, as ``sisi produce --period`` sends it for rows the registry already holds.
    """
    encoded: list[bytes] = []
    for block in padron_blocks(agreement, items, seed):
        for record in block.records():
            values = {k: _BOOL.get(v, v) if isinstance(v, str) else v
                      for k, v in record.values.items()}  # fmt: skip
            if operation == "PAGO":
                values["fecha_beneficio"] = PAID_ON
                eff = epoch_days(PAID_ON)
            else:
                eff = epoch_days(values["effective_date"])  # type: ignore[arg-type]
            tail = codec.encode_tail(values)
            encoded.append(codec.encode_item(record.reference_id, operation, eff, tail))
    key = demo_private_key(agreement.id)
    transaction = str(uuid.uuid4())
    chunks = [encoded[i : i + size] for i in range(0, len(encoded), size)]
    messages: list[Message] = []
    for index, chunk in enumerate(chunks):
        message_id = str(uuid.uuid4())
        header = ChangeSetHeader(
            message_id, transaction, "BIENESTAR", agreement.id, dt.datetime.now(dt.UTC),
            index, len(chunks),
        )  # fmt: skip
        value = codec.frame(header, chunk)
        headers: Headers = list(seal(key, agreement.id, message_id, value).headers)
        messages.append((message_id, value, headers))
    return messages


def publish(bootstrap: str, topic: str, messages: list[Message]) -> None:
    producer = Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
         "message.max.bytes": 16 * 1024 * 1024}
    )  # fmt: skip
    for message_id, value, headers in messages:
        producer.produce(topic, value=value, key=message_id.encode(), headers=headers)
        producer.poll(0)
    if producer.flush(60):
        raise RuntimeError("el broker no confirmó todos los mensajes")


def databases(which: str) -> Iterator[tuple[str, Any]]:
    """(label, factory of fresh database URLs) for SQLite and/or PostgreSQL."""
    if which in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            counter = iter(range(1000))
            yield "sqlite", lambda: f"sqlite:///{tmp}/bench{next(counter)}.sqlite3"
    if which in ("postgresql", "both"):
        with scratch_databases(PG_SERVER) as fresh:
            yield "postgresql", fresh


class Stack:
    """A fresh broker with the agreements' topics, a prepared database, and ``sisi hub``."""

    def __init__(self, url: str, tmp: Path) -> None:
        self.url = url
        self.broker = EmbeddedBroker().start()
        self.bootstrap = self.broker.bootstrap_servers
        self.settings = Settings(
            bootstrap_servers=self.bootstrap, database_url=url, data_dir=tmp / "var"
        )
        prepare_database(self.settings)
        ids = AgreementSet(self.settings.agreements_dir).ids
        ensure_topics(self.bootstrap, topics_for_agreements(ids))
        self.engine = make_engine(url)
        self.log = tmp / f"hub-{uuid.uuid4().hex[:6]}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start_hub(self, workers: int) -> None:
        env = {
            **os.environ,
            "SISI_BOOTSTRAP_SERVERS": self.bootstrap,
            "SISI_DATABASE_URL": self.url,
            "SISI_DATA_DIR": str(self.settings.data_dir),
            "SISI_METRICS_PORT": "0",
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(SISI), "hub", "--workers", str(workers), "--no-topics",
                 "--publish-interval", "3600"],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
            )  # fmt: skip

    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(f"select count(*) from {table}")).scalar_one())

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.engine.dispose()
        self.broker.stop()


def preload(stack: Stack, messages: list[Message]) -> None:
    """Apply ``messages`` to the stack's database in this process (untimed, no Kafka)."""
    from hub.worker import BATCH_MESSAGES, KafkaMessage, RecordingPublisher, build_pipeline

    pipeline = build_pipeline(stack.settings, RecordingPublisher())
    topic = f"sisi.agreement.{AGREEMENT}.changesets"
    # a partition the topic does not have: the ledger's positions never meet the hub's
    kafka = [
        KafkaMessage(topic, 1000, n, v, tuple(h))  # type: ignore[arg-type]
        for n, (_, v, h) in enumerate(messages)
    ]
    for start in range(0, len(kafka), BATCH_MESSAGES):
        pipeline.process_batch(kafka[start : start + BATCH_MESSAGES])
    pipeline.engine.dispose()


def run_hub(
    url: str,
    tmp: Path,
    workers: int,
    messages: list[Message],
    size: int,
    stored: list[Message] | None = None,
) -> float:
    """Items/s of ``sisi hub --workers`` over the published ``messages`` (see module doc);
    ``stored``: change sets the registry holds before the hub starts (applied untimed)."""
    stack = Stack(url, tmp)
    try:
        if stored:
            preload(stack, stored)
        before = {t: stack.count(t) for t in ("processed_messages", "applied_items", "audit_log")}
        publish(stack.bootstrap, f"sisi.agreement.{AGREEMENT}.changesets", messages)
        stack.start_hub(workers)
        total = len(messages)
        first_t, first_n, done = 0.0, 0, 0
        deadline = time.monotonic() + 900
        while done < total:
            if time.monotonic() > deadline or stack.process.poll() is not None:  # type: ignore[union-attr]
                raise RuntimeError(f"el hub no terminó: {stack.log.read_text()[-3000:]}")
            done = stack.count("processed_messages") - before["processed_messages"]
            now = time.perf_counter()
            if done and not first_n:
                first_t, first_n = now, done
            time.sleep(0.02)
        elapsed = time.perf_counter() - first_t
        applied = stack.count("applied_items") - before["applied_items"]
        audit = stack.count("audit_log") - before["audit_log"]
        rate = (total - first_n) * size / elapsed
        print(
            f"  hub --workers {workers}: {rate:9,.0f} items/s   ({applied:,} registry items, "
            f"{audit:,} audit entries, {total} change sets in {elapsed:.1f} s)"
        )
        return rate
    finally:
        stack.close()


def run_raw(
    url: str, tmp: Path, messages: list[Message], codec: ChangeSetCodec, size: int
) -> float:
    """The raw ceiling: consume + fastavro decode + bulk insert, one transaction per message."""
    stack = Stack(url, tmp)
    engine = stack.engine
    postgres = engine.dialect.name == "postgresql"
    try:
        topic = f"sisi.agreement.{AGREEMENT}.changesets"
        publish(stack.bootstrap, topic, messages)
        cols = ", ".join(RAW_COLUMNS)
        with engine.begin() as conn:
            typed = ", ".join(c + " text" for c in RAW_COLUMNS)
            conn.execute(text(f"CREATE TABLE bench_raw ({typed})"))
        sql = (
            f"COPY bench_raw ({cols}) FROM STDIN"
            if postgres
            else f"INSERT INTO bench_raw ({cols}) VALUES ({', '.join('?' * len(RAW_COLUMNS))})"
        )
        consumer: Any = Consumer(
            {"bootstrap.servers": stack.bootstrap, "group.id": f"raw-{uuid.uuid4().hex[:6]}",
             "enable.auto.commit": False, "fetch.message.max.bytes": 16 * 1024 * 1024}
        )  # fmt: skip
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        schema = codec.parsed
        raw_conn: Any = engine.raw_connection()
        driver = raw_conn.driver_connection
        seen, started = 0, 0.0
        while seen < len(messages):
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            _, body = split(message.value())
            record: Any = schemaless_reader(io.BytesIO(body), schema, None)
            mid = record["message_id"]
            rows = []
            for item in record["items"]:
                p, b, g = item["person"], item["benefit"] or {}, item["geography"] or {}
                rows.append((
                    mid, item["reference_id"], item["operation"], item["effective_date"],
                    p["curp"], p["primer_apellido"], p["segundo_apellido"], p["nombre"],
                    p["fecha_nacimiento"], p["entidad_nacimiento"], p["sexo"],
                    b.get("clave_programa"), b.get("tipo_beneficio"), b.get("monto"),
                    b.get("fecha_beneficio"), g.get("cve_ent"), g.get("cve_mun"), g.get("cve_loc"),
                ))  # fmt: skip
            if postgres:
                with driver.cursor() as cursor, cursor.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                driver.executemany(sql, [tuple(str(v) if v is not None else None for v in r)
                                         for r in rows])  # fmt: skip
            driver.commit()
            seen += 1
            if seen == 1:  # like the hub's figure: from the first committed message on
                started = time.perf_counter()
        elapsed = time.perf_counter() - started
        raw_conn.close()
        consumer.close()
        rate = (len(messages) - 1) * size / elapsed
        print(f"  raw ceiling: {rate:9,.0f} items/s")
        return rate
    finally:
        stack.close()


#: Tables the floor copies: what the hub writes per item and per change set (not the setup's).
FLOOR_TABLES = (
    "people", "source_records", "person_links", "enrollments", "benefits_paid", "applied_items",
    "deliveries", "audit_log", "processed_messages", "compliance_totals",
    "compliance_rejections", "compliance_deliveries",
)  # fmt: skip


def run_floor(source_url: str, url: str, tmp: Path, items: int, size: int) -> float:
    """The write floor of the hub's data model: the rows a hub run committed, already built, put
    into a fresh database with the same schema by plain bulk inserts (``executemany`` on SQLite,
    ``COPY`` on PostgreSQL), in transactions of the hub's batch (``BATCH_MESSAGES`` change sets),
    in key order (the best case for the indexes). No Kafka, no decoding, no Python logic: what
    only storing what the hub must store costs. Prints items/s and where the time went."""
    from hub.worker import BATCH_MESSAGES

    source = make_engine(source_url)
    target_settings = Settings(database_url=url, data_dir=tmp / "var-floor")
    prepare_database(target_settings)
    target = make_engine(url)
    postgres = target.dialect.name == "postgresql"
    present = set(inspect(source).get_table_names())
    tables = [t for t in FLOOR_TABLES if t in present]
    data: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    with source.connect() as conn:
        for table in tables:
            keys = inspect(source).get_pk_constraint(table)["constrained_columns"]
            order = f" ORDER BY {', '.join(keys)}" if keys else ""
            result = conn.execute(text(f"SELECT * FROM {table}{order}"))
            data[table] = (list(result.keys()), [tuple(row) for row in result])
    with source.connect() as conn:  # the catalog the hub filled from the agreements
        programs = [tuple(row) for row in conn.execute(text("SELECT * FROM programs"))]
    source.dispose()
    with target.begin() as conn:  # the setup's own rows (agreements' audit entries, ...)
        for table in tables:
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("DELETE FROM programs"))
        marks = ", ".join(f":p{i}" for i in range(len(programs[0])))
        conn.execute(
            text(f"INSERT INTO programs VALUES ({marks})"),
            [{f"p{i}": v for i, v in enumerate(row)} for row in programs],
        )
    chunks = max(1, -(-items // (BATCH_MESSAGES * size)))
    # a person goes in with the first of her records, as the hub does (the foreign keys hold)
    people_columns, people_rows = data.pop("people")
    by_id = {row[people_columns.index("id")]: row for row in people_rows}
    records_columns, records = data["source_records"]
    person_at = records_columns.index("person_id")
    tables.remove("people")
    tables.insert(tables.index("source_records"), "people")
    linked = {row[person_at] for row in records}
    spare = [row for row in people_rows if row[0] not in linked]
    spent = dict.fromkeys([*tables, "commit"], 0.0)
    raw: Any = target.raw_connection()
    driver = raw.driver_connection
    started = time.perf_counter()
    for n in range(chunks):
        for table in tables:
            if table == "people":
                columns = people_columns
                first = records[len(records) * n // chunks : len(records) * (n + 1) // chunks]
                part = [by_id.pop(r[person_at]) for r in first if r[person_at] in by_id]
                part += spare[len(spare) * n // chunks : len(spare) * (n + 1) // chunks]
                part.sort()
            else:
                columns, rows = data[table]
                part = rows[len(rows) * n // chunks : len(rows) * (n + 1) // chunks]
            if not part:
                continue
            begun = time.perf_counter()
            names = ", ".join(columns)
            if postgres:
                sql = f"COPY {table} ({names}) FROM STDIN"
                with driver.cursor() as cursor, cursor.copy(sql) as copy:
                    for row in part:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" * len(columns))
                sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
                try:
                    driver.executemany(sql, part)
                except Exception as exc:
                    raise RuntimeError(f"el piso no pudo escribir {table}: {exc}") from exc
            spent[table] += time.perf_counter() - begun
        begun = time.perf_counter()
        driver.commit()
        spent["commit"] += time.perf_counter() - begun
    elapsed = time.perf_counter() - started
    raw.close()
    target.dispose()
    rate = items / elapsed
    shares = ", ".join(
        f"{name} {seconds / elapsed:.0%}"
        for name, seconds in spent.items()
        if seconds > 0.005 * elapsed
    )
    print(f"  write floor: {rate:9,.0f} items/s   ({shares})")
    return rate


def run_latency(url: str, tmp: Path, codec: ChangeSetCodec, agreement: Agreement,
                seconds: float) -> None:  # fmt: skip
    """publish → receipt per change set of 50 items every 50 ms (1,000 items/s)."""
    count = int(seconds * 20)
    messages = build_messages(codec, agreement, count * 50 + 1, 50, seed=99)
    warm, steady = messages[0], messages[1 : count + 1]
    stack = Stack(url, tmp)
    topic = f"sisi.agreement.{AGREEMENT}.changesets"
    arrived: dict[str, float] = {}
    stop = threading.Event()
    try:
        stack.start_hub(1)
        receipts = agreement_receipts(AGREEMENT)
        consumer: Any = Consumer(
            {"bootstrap.servers": stack.bootstrap, "group.id": f"lat-{uuid.uuid4().hex[:6]}",
             "enable.auto.commit": False, "fetch.wait.max.ms": 5}
        )  # fmt: skip
        parts = consumer.list_topics(receipts, timeout=10).topics[receipts].partitions
        consumer.assign([TopicPartition(receipts, p, OFFSET_BEGINNING) for p in parts])

        def read() -> None:
            while not stop.is_set():
                message = consumer.poll(0.05)
                if message is not None and not message.error() and message.key():
                    arrived.setdefault(message.key().decode(), time.perf_counter())

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        producer = Producer({"bootstrap.servers": stack.bootstrap, "acks": "all", "linger.ms": 0})
        producer.produce(topic, value=warm[1], key=warm[0].encode(), headers=warm[2])
        producer.flush(10)
        deadline = time.monotonic() + 180
        while warm[0] not in arrived:  # the hub joined its group and processed one
            if time.monotonic() > deadline:
                raise RuntimeError(f"el hub no respondió: {stack.log.read_text()[-3000:]}")
            time.sleep(0.1)
        sent: dict[str, float] = {}
        start = time.perf_counter()
        for n, (message_id, value, headers) in enumerate(steady):
            wait = start + n * 0.05 - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            sent[message_id] = time.perf_counter()
            producer.produce(topic, value=value, key=message_id.encode(), headers=headers)
            producer.poll(0)
        producer.flush(10)
        deadline = time.monotonic() + 60
        while not set(sent) <= set(arrived) and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        reader.join()
        consumer.close()
        waits = sorted((arrived[m] - t) * 1000 for m, t in sent.items() if m in arrived)
        missing = len(sent) - len(waits)

        def pct(q: float) -> float:
            return waits[min(len(waits) - 1, int(q * len(waits)))]

        print(
            f"  latency publish→receipt at 1,000 items/s ({len(sent)} sets of 50, "
            f"{seconds:.0f} s): p50 {pct(0.50):.0f} ms  p95 {pct(0.95):.0f} ms  "
            f"p99 {pct(0.99):.0f} ms  max {waits[-1]:.0f} ms"
            + (f"  ({missing} sin acuse)" if missing else "")
        )
    finally:
        stop.set()
        stack.close()


def profile(tmp: Path, codec_items: int, size: int) -> None:
    """HubPipeline.process_batch in this process on SQLite (recording publisher): timed, then
    again under cProfile, each on a fresh database (no Kafka, no faust)."""
    from hub.worker import BATCH_MESSAGES, KafkaMessage, RecordingPublisher, build_pipeline
    from hub.worker.gctune import tune_gc

    settings, agreement = _load()
    topic = f"sisi.agreement.{AGREEMENT}.changesets"
    messages: list[Message] = []
    for run in ("timed", "profiled"):
        url = f"sqlite:///{tmp}/{run}.sqlite3"
        settings = Settings(database_url=url, data_dir=tmp / f"var-{run}")
        prepare_database(settings)
        pipeline = build_pipeline(settings, RecordingPublisher())
        if not messages:
            codec = _codec(pipeline.engine, agreement)
            messages = build_messages(codec, agreement, codec_items, size, 5)
        kafka = [
            KafkaMessage(topic, 0, n, v, tuple(h))  # type: ignore[arg-type]
            for n, (_, v, h) in enumerate(messages)
        ]
        pipeline.process(kafka[0])
        tune_gc()  # as the worker does once assembled
        batches = [kafka[i : i + BATCH_MESSAGES] for i in range(1, len(kafka), BATCH_MESSAGES)]
        prof = cProfile.Profile()
        started = time.perf_counter()
        if run == "profiled":
            prof.enable()
        for batch in batches:
            pipeline.process_batch(batch)
        prof.disable()
        elapsed = time.perf_counter() - started
        rate = (len(kafka) - 1) * size / elapsed
        print(f"{run}: {rate:,.0f} items/s in-process, batches of {BATCH_MESSAGES} messages")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(order).print_stats(25)
        print(out.getvalue())


def _load_line() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000, help="items per throughput run")
    parser.add_argument("--size", type=int, default=500, help="items per change set")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--workers", default="1,2", help="worker counts to run, comma-separated")
    parser.add_argument("--latency-seconds", type=float, default=30.0)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--profile", action="store_true", help="only the in-process profile")
    parser.add_argument(
        "--workload",
        choices=("altas", "pagos"),
        default="altas",
        help="altas: a first delivery (every item a new person); pagos: the month's payment of "
        "every row of a registry that holds them (loaded untimed before the hub starts)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        if args.profile:
            profile(tmp, args.items, args.size)
            return
        _, agreement = _load()
        cache: dict[int, list[Message]] = {}
        for label, fresh in databases(args.db):
            print(f"{label}: load {_load_line()}")
            probe_url = fresh()
            probe = Settings(database_url=probe_url, data_dir=tmp / "var")
            prepare_database(probe)
            probe_engine = make_engine(probe_url)
            codec = _codec(probe_engine, agreement)
            probe_engine.dispose()
            if not args.skip_throughput:
                pagos = args.workload == "pagos"
                if codec.schema_id not in cache:
                    started = time.perf_counter()
                    built = build_messages(codec, agreement, args.items, args.size, 7)
                    cache[codec.schema_id] = built
                    if pagos:
                        cache[-codec.schema_id] = build_messages(
                            codec, agreement, args.items, args.size, 7, "PAGO"
                        )
                    print(f"  built {args.items:,} items in {len(cache[codec.schema_id])} signed "
                          f"change sets in {time.perf_counter() - started:.1f} s"
                          + (", and their payments" if pagos else ""))  # fmt: skip
                altas = cache[codec.schema_id]
                messages = cache[-codec.schema_id] if pagos else altas
                stored = altas if pagos else None
                raw = [run_raw(fresh(), tmp, messages, codec, args.size)]
                hub: dict[str, float] = {}
                for w in args.workers.split(","):
                    hub_url = fresh()
                    hub[w] = run_hub(hub_url, tmp, int(w), messages, args.size, stored)
                floor = None if pagos else run_floor(hub_url, fresh(), tmp, args.items, args.size)
                raw.append(run_raw(fresh(), tmp, messages, codec, args.size))
                ceiling = sum(raw) / len(raw)
                print(f"  raw ceiling: {ceiling:9,.0f} items/s (before {raw[0]:,.0f}, "
                      f"after {raw[1]:,.0f})")  # fmt: skip
                if floor is not None:
                    print(f"  {label} write floor: {floor:9,.0f} items/s   raw {ceiling:9,.0f} "
                          f"items/s   ratio {floor / ceiling:5.2f}")  # fmt: skip
                for w, rate in hub.items():
                    of_floor = f"   of the floor {rate / floor:5.2f}" if floor else ""
                    print(f"  {label} hub --workers {w}: {rate:9,.0f} items/s   raw "
                          f"{ceiling:9,.0f} items/s   ratio {rate / ceiling:5.2f}"
                          f"{of_floor}")  # fmt: skip
            if not args.skip_latency:
                run_latency(fresh(), tmp, codec, agreement, args.latency_seconds)
            print(f"{label}: load {_load_line()}")


if __name__ == "__main__":
    main()
