"""Topic management: which topics the hub needs and creating them idempotently.

Tansu does not create topics on metadata requests, so everything the hub and the agencies write
to is created here up front (and again after a broker restart, which forgets them).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub import topics as names
from hub.errors import BrokerError

__all__ = [
    "DEFAULT_PARTITIONS",
    "TopicSpec",
    "ensure_topics",
    "existing_topics",
    "topics_for_agreements",
    "wait_for_topics",
]

#: Partitions of agency and hub topics (public topics have one: they are small and ordered).
DEFAULT_PARTITIONS = 4

_log = logging.getLogger(__name__)
_quiet = logging.getLogger("hub.broker.librdkafka")


@dataclass(frozen=True)
class TopicSpec:
    """A topic to create: name, partition count and topic-level config."""

    name: str
    partitions: int = 1
    config: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name:
            raise BrokerError("un tema necesita nombre", hint="revise la lista de temas.")
        if self.partitions < 1:
            raise BrokerError(
                f"el tema '{self.name}' pide {self.partitions} particiones",
                hint="use al menos 1 partición.",
            )


def topics_for_agreements(
    agreement_ids: Iterable[str], partitions: int = DEFAULT_PARTITIONS
) -> list[TopicSpec]:
    """Every topic the hub needs: its own, plus changes and receipts per agreement.

    Public topics (``sisi.public.*``) get one partition; agency and hub topics ``partitions``.
    The result is sorted by name and free of duplicates.
    """
    wanted: dict[str, TopicSpec] = {}
    for name in names.hub_topics():
        count = 1 if name.startswith("sisi.public.") else partitions
        wanted[name] = TopicSpec(name, count)
    for agreement_id in agreement_ids:
        for name in (names.agreement_changes(agreement_id), names.agreement_receipts(agreement_id)):
            wanted[name] = TopicSpec(name, partitions)
    return [wanted[name] for name in sorted(wanted)]


def _admin(bootstrap_servers: str) -> Any:
    from confluent_kafka.admin import AdminClient

    config: dict[str, Any] = {"bootstrap.servers": bootstrap_servers, "logger": _quiet}
    return AdminClient(config)


def existing_topics(bootstrap_servers: str, timeout: float = 10.0) -> set[str]:
    """Names of the topics the broker knows right now."""
    from confluent_kafka import KafkaException

    admin = _admin(bootstrap_servers)
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise BrokerError(
            f"el broker en {bootstrap_servers} no respondió: {exc}",
            hint="verifique que el broker esté en marcha (sisi broker) y SISI_BOOTSTRAP_SERVERS.",
        ) from exc
    return {str(name) for name in metadata.topics}


def ensure_topics(
    bootstrap_servers: str, specs: Iterable[TopicSpec], timeout: float = 15.0
) -> list[str]:
    """Create the topics that do not exist yet; returns the names created by this call.

    Topics that already exist are left as they are (their partition count is not changed).
    """
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.cimpl import NewTopic

    wanted = {spec.name: spec for spec in specs}
    if not wanted:
        return []
    present = existing_topics(bootstrap_servers, timeout)
    missing = [spec for name, spec in wanted.items() if name not in present]
    if not missing:
        return []
    admin = _admin(bootstrap_servers)
    new = [
        NewTopic(spec.name, num_partitions=spec.partitions, config=dict(spec.config))
        for spec in missing
    ]
    futures = admin.create_topics(new, operation_timeout=timeout, request_timeout=timeout)
    created: list[str] = []
    failures: list[str] = []
    for name, future in futures.items():
        try:
            future.result(timeout=timeout)
            created.append(name)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue
            failures.append(f"{name}: {exc}")
        except Exception as exc:  # timeouts of the future itself
            failures.append(f"{name}: {exc}")
    if failures:
        raise BrokerError(
            f"no se pudieron crear {len(failures)} tema(s) en {bootstrap_servers}: "
            + "; ".join(sorted(failures)),
            hint="verifique que el broker esté en marcha y acepte crear temas.",
        )
    _log.info("temas creados: %s", ", ".join(sorted(created)))
    return sorted(created)


def wait_for_topics(bootstrap_servers: str, names_: Iterable[str], timeout: float = 15.0) -> None:
    """Wait until every named topic shows up in the broker's metadata."""
    wanted = set(names_)
    deadline = time.monotonic() + timeout
    missing = wanted
    while True:
        try:
            missing = wanted - existing_topics(bootstrap_servers, timeout=min(5.0, timeout))
        except BrokerError:
            missing = wanted
        if not missing:
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    raise BrokerError(
        f"los temas {', '.join(sorted(missing))} no aparecieron en {bootstrap_servers} "
        f"en {timeout:.0f} s",
        hint="cree los temas con 'sisi broker' o ensure_topics() y revise el broker.",
    )
