"""Which topics the hub needs, and creating them idempotently on the real broker."""

from __future__ import annotations

import uuid

import pytest

from hub import topics as names
from hub.broker import (
    EmbeddedBroker,
    TopicSpec,
    ensure_topics,
    existing_topics,
    topics_for_agreements,
    wait_for_topics,
)
from hub.errors import BrokerError


def test_every_agreement_gets_changes_and_receipts_and_the_hub_its_own() -> None:
    specs = topics_for_agreements(["sep-becas", "bienestar-pam", "sep-becas"], partitions=6)
    by_name = {spec.name: spec.partitions for spec in specs}
    assert len(specs) == len(by_name)  # no duplicates
    assert [spec.name for spec in specs] == sorted(by_name)
    for agreement in ("sep-becas", "bienestar-pam"):
        assert by_name[names.agreement_changes(agreement)] == 6
        assert by_name[names.agreement_receipts(agreement)] == 6
    for hub_topic in names.hub_topics():
        expected = 1 if hub_topic.startswith("sisi.public.") else 6
        assert by_name[hub_topic] == expected
    assert len(specs) == len(names.hub_topics()) + 4


def test_no_agreements_still_means_the_hub_topics() -> None:
    assert {spec.name for spec in topics_for_agreements([])} == set(names.hub_topics())


@pytest.mark.parametrize("partitions", [0, -1])
def test_a_topic_needs_at_least_one_partition(partitions: int) -> None:
    with pytest.raises(BrokerError, match="partición"):
        TopicSpec("t", partitions)


@pytest.mark.broker
def test_ensure_topics_is_idempotent(broker: EmbeddedBroker) -> None:
    agreement = f"idem-{uuid.uuid4().hex[:8]}"
    specs = topics_for_agreements([agreement])
    bootstrap = broker.bootstrap_servers
    first = ensure_topics(bootstrap, specs)
    # the new agreement's topics are created now; the hub's may exist from an earlier test
    assert {names.agreement_changes(agreement), names.agreement_receipts(agreement)} <= set(first)
    assert ensure_topics(bootstrap, specs) == []
    assert {spec.name for spec in specs} <= existing_topics(bootstrap)
    wait_for_topics(bootstrap, [spec.name for spec in specs])


@pytest.mark.broker
def test_topic_config_and_partitions_reach_the_broker(broker: EmbeddedBroker) -> None:
    from confluent_kafka.admin import AdminClient

    spec = TopicSpec("cfg.partitions-3", 3, {"retention.ms": "86400000"})
    ensure_topics(broker.bootstrap_servers, [spec])
    metadata = AdminClient({"bootstrap.servers": broker.bootstrap_servers}).list_topics(timeout=10)
    assert len(metadata.topics[spec.name].partitions) == 3


@pytest.mark.broker
def test_waiting_for_a_topic_nobody_creates_fails_clearly(broker: EmbeddedBroker) -> None:
    with pytest.raises(BrokerError, match="no aparecieron"):
        wait_for_topics(broker.bootstrap_servers, ["never.created"], timeout=1.0)


@pytest.mark.broker
def test_an_unreachable_broker_is_a_broker_error() -> None:
    from hub.broker import find_free_port

    with pytest.raises(BrokerError, match="no respondió"):
        existing_topics(f"127.0.0.1:{find_free_port()}", timeout=1.0)


def test_public_api_is_exactly_what_the_package_exports() -> None:
    import hub.broker

    assert sorted(hub.broker.__all__) == hub.broker.__all__
    for name in hub.broker.__all__:
        assert getattr(hub.broker, name) is not None
