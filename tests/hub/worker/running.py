"""Helpers for tests that run a real ``sisi hub`` process against a real broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hub.agreements.loader import AgreementSet
from hub.broker import EmbeddedBroker, ensure_topics, find_free_port, topics_for_agreements
from hub.contracts.wire import decode
from hub.gatekeeper.schemas import StoreSchemas
from hub.settings import REPO_ROOT, Settings
from hub.worker import prepare_database

SISI = REPO_ROOT / ".venv" / "bin" / "sisi"


class HubProcess:
    """``sisi hub`` in a subprocess with SISI_* variables pointing at the test's broker and DB."""

    def __init__(self, broker: EmbeddedBroker, database_url: str, tmp: Path) -> None:
        self.metrics_port = find_free_port()
        self.env = {
            **os.environ,
            "SISI_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "SISI_DATABASE_URL": database_url,
            "SISI_DATA_DIR": str(tmp / "var"),
            "SISI_AGREEMENTS_DIR": str(REPO_ROOT / "agreements"),
            "SISI_METRICS_PORT": str(self.metrics_port),
        }
        self.settings = Settings(
            bootstrap_servers=broker.bootstrap_servers,
            database_url=database_url,
            data_dir=tmp / "var",
        )
        self.log = tmp / "hub.log"
        self.cwd = tmp / "cwd"  # the hub must not depend on, nor write to, its directory
        self.cwd.mkdir(exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None
        prepare_database(self.settings)
        ids = AgreementSet(self.settings.agreements_dir).ids
        ensure_topics(broker.bootstrap_servers, topics_for_agreements(ids))

    def start(self, *args: str) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(SISI), "hub", "--publish-interval", "2", *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)

    def kill_worker(self) -> int:
        """SIGKILL one worker process of ``sisi hub --workers N`` (the supervisor starts another);
        the killed process id."""
        assert self.process is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            workers = [pid for pid in _children(self.process.pid) if _is_worker(pid)]
            if workers:
                os.kill(workers[0], signal.SIGKILL)
                return workers[0]
            time.sleep(0.2)
        raise AssertionError(f"sisi hub no tiene workers\n{self.log_tail()}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def publish(bootstrap: str, messages: Iterable[tuple[str, bytes, list[tuple[str, bytes]]]]) -> int:
    """Produce ``(topic, value, headers)`` and wait for every acknowledgment."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    count = 0
    for topic, value, headers in messages:
        producer.produce(topic, value=value, headers=headers)
        producer.poll(0)
        count += 1
    assert producer.flush(30) == 0
    return count


class ReceiptReader:
    """Reads receipts of one agreement from the start of its topic."""

    def __init__(self, bootstrap: str, topic: str, schemas: StoreSchemas) -> None:
        from confluent_kafka import Consumer

        self._consumer: Any = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"test-receipts-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        # assign instead of subscribe: no group join, so receipts are seen as soon as they exist
        from confluent_kafka import OFFSET_BEGINNING, TopicPartition

        partitions = self._consumer.list_topics(topic, timeout=10).topics[topic].partitions
        self._consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        self._schemas = schemas
        self.receipts: list[dict[str, Any]] = []

    def poll(self, seconds: float = 1.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            message = self._consumer.poll(0.2)
            if message is None or message.error():
                continue
            self.receipts.append(decode(message.value(), self._schemas))

    def message_ids(self) -> set[str]:
        return {r["message_id"] for r in self.receipts}

    def wait_for(
        self,
        wanted: set[str],
        hub: HubProcess,
        limit: float,
        kill_at: Iterable[int] = (),
        *,
        one_worker: bool = False,
    ) -> list[int]:
        """Poll until every id in ``wanted`` has a receipt (a deadline only to avoid hanging).

        With ``kill_at``, SIGKILL the hub and start it again once that many change sets have
        receipts (``one_worker``: SIGKILL one of its workers, which its supervisor replaces);
        returns how many had receipts at each kill.
        """
        deadline = time.monotonic() + limit
        kills = sorted(kill_at)
        killed: list[int] = []
        while not wanted <= self.message_ids():
            if time.monotonic() > deadline:
                missing = len(wanted - self.message_ids())
                raise AssertionError(f"faltan {missing} acuses\n{hub.log_tail()}")
            if not hub.alive() and not kills:
                raise AssertionError(f"sisi hub terminó\n{hub.log_tail()}")
            self.poll(0.5)
            if kills and len(self.message_ids() & wanted) >= kills[0]:
                kills.pop(0)
                if one_worker:
                    hub.kill_worker()
                else:
                    hub.kill()
                killed.append(len(self.message_ids() & wanted))
                if not one_worker:
                    hub.start()
        return killed

    def close(self) -> None:
        self._consumer.close()


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(part) for part in text.split()]


def _is_worker(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"multiprocessing.spawn" in cmdline and b"resource_tracker" not in cmdline


def python() -> str:
    return sys.executable
