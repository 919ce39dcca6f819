"""``sisi compliance --published`` reads ``sisi.public.scorecards`` on the real embedded broker
with the hub's Schema Registry over HTTP, as a subscriber would (no database), and says what the
operator's ``sisi compliance --period`` says for that month."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from click.testing import CliRunner

from hub.broker import EmbeddedBroker, TopicSpec, ensure_topics
from hub.cli.main import cli
from hub.errors import SisiError
from hub.schema_registry import running_registry
from hub.topics import PUBLIC_SCORECARDS
from hub.worker import KafkaMessage, build_pipeline
from hub.worker.public import publish_public
from hub.worker.publisher import KafkaPublisher
from tests.hub.gatekeeper.changesets import PAM, change_set, item, sealed, topic_of
from tests.hub.gatekeeper.fixtures import TODAY, Hub

JUNE = dt.datetime(2026, 6, 10, 12, tzinfo=dt.UTC)


def _invoke(env: dict[str, str | None], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["compliance", *args], env=env)
    if isinstance(result.exception, SisiError):
        return result.exception.exit_code, result.exception.render()
    return result.exit_code, result.output


def test_the_published_cards_read_back_with_the_operators_verdict(
    hub: Hub, fresh_broker: EmbeddedBroker
) -> None:
    servers = fresh_broker.bootstrap_servers
    ensure_topics(servers, [TopicSpec(PUBLIC_SCORECARDS, 1, {})])
    pipeline = build_pipeline(hub.settings, KafkaPublisher(servers), engine=hub.engine, today=TODAY)
    pipeline.clock = lambda: JUNE
    sets = [
        [item(0)],  # the initial load
        [item(1), item(2)],  # dated 2026-03-01: late in June
        [{**item(3), "effective_date": dt.date(2026, 6, 9)}],  # the last one on time
    ]
    for offset, items in enumerate(sets):
        value, headers = sealed(hub.engine, change_set(PAM, items, sent_at=JUNE))
        message = KafkaMessage(topic_of(PAM), 0, offset, value, tuple(headers))
        assert pipeline.process(message).kind == "processed"
    publish_public(pipeline, now=JUNE)
    publish_public(pipeline, now=JUNE + dt.timedelta(minutes=1))  # republished: the newest shows

    database = hub.settings.resolved_database_url()
    with running_registry(database_url=database) as registry:
        # no database for the reader: only the broker and the registry's REST API
        outsider: dict[str, str | None] = {
            "SISI_BOOTSTRAP_SERVERS": servers,
            "SISI_SCHEMA_REGISTRY_URL": registry.url,
            "SISI_DATABASE_URL": "postgresql://nadie@127.0.0.1:1/no-existe",
        }
        code, out = _invoke(outsider, "--published", "--json")
        assert code == 0, out
        cards = json.loads(out)
        padron = [a.id for a in pipeline.gatekeeper.agreements if a.kind == "padron"]
        assert sorted(card["agreement_id"] for card in cards) == sorted(padron)  # newest only
        (card,) = [card for card in cards if card["agreement_id"] == PAM]
        assert card["computed_at"] == (JUNE + dt.timedelta(minutes=1)).isoformat()
        assert (card["period"], card["late_items"], card["on_time_measured"]) == (
            "2026-06",
            2,
            False,
        )

        code, text = _invoke(outsider, "--published", "--period", "2026-06")
        assert code == 0, text
        lines = text.splitlines()
        assert lines[0].startswith(f"tableros publicados en {PUBLIC_SCORECARDS} ({servers})")
        at = lines.index(next(line for line in lines if line.startswith(f"2026-06  {PAM} (")))
        assert lines[at + 1].startswith("  a tiempo: no ✗ · fuera de plazo 2 · entregas 3 · ")
        assert lines[at + 1].endswith(" · calculado 2026-06-10 12:01 UTC")

        code, text = _invoke(outsider, "--published", "--period", "2025-01")
        assert code == 0 and text.startswith(f"{PUBLIC_SCORECARDS} no tiene tableros del periodo")

        wrong = {**outsider, "SISI_SCHEMA_REGISTRY_URL": "http://127.0.0.1:9"}
        code, text = _invoke(wrong, "--published")
        assert code == 2 and "SISI_SCHEMA_REGISTRY_URL" in text

    operator: dict[str, Any] = {
        "SISI_DATABASE_URL": database,
        "SISI_AGREEMENTS_DIR": str(hub.settings.agreements_dir),
    }
    code, out = _invoke(operator, "--json", "--period", "2026-06")
    assert code == 0, out
    (month,) = [row for row in json.loads(out) if row["agreement_id"] == PAM]
    assert (month["on_time"], month["on_time_measured"]) == (card["on_time"], False)
