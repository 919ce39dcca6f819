"""Migration 0010: readable order keys become compact ones, and nothing about the order changes.

A registry written by the 0009 code (readable keys ``date|sent_at|agreement␟message␟reference``,
reproduced here as that code wrote them) is migrated, then receives more items, older and newer
than the ones it holds; its state must be exactly that of a registry that got every item with
the compact keys from the start.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Engine

import hub.migrations
from hub.db import migrate
from hub.registry import RegistryWriter
from hub.registry.items import ChangeItem, ChangeSetHeader, utc_naive, version
from tests.hub.registry.conftest import clear, header, item, snapshot


def _readable_prefix(head: ChangeSetHeader) -> str:
    sent = utc_naive(head["sent_at"]).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return f"|{sent}|{head['agreement_id']}\x1f{head['message_id']}\x1f"


def _readable(head: ChangeSetHeader, it: ChangeItem, prefix: str | None = None) -> str:
    return (
        it["effective_date"].isoformat() + (prefix or _readable_prefix(head)) + it["reference_id"]
    )


def _first(n: int) -> list[tuple[ChangeSetHeader, list[ChangeItem]]]:
    """What the registry holds before the migration: rows, a correction, a relink, payments."""
    t = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
    return [
        (header("m1", sent_at=t), [item(f"R{k}", effective="2025-02-01") for k in range(n)]),
        (
            header("m2", sent_at=t + dt.timedelta(hours=1)),
            [
                item("R0", "CAMBIO", "2025-03-01", nombre="Juana"),
                item("R1", "PAGO", "2025-03-05"),
                item("R2", "CAMBIO", "2025-03-01", curp="LOMA900202MDFPRR02"),
            ],
        ),
    ]


def _after() -> list[tuple[ChangeSetHeader, list[ChangeItem]]]:
    """What arrives after it: one item older than what R0 holds, newer ones, a BAJA, a replay."""
    t = dt.datetime(2025, 6, 2, 9, 30, tzinfo=dt.UTC)
    return [
        (
            header("m3", sent_at=t),
            [
                item("R0", "CAMBIO", "2025-02-15", nombre="Juanita"),  # older than m2's
                item("R1", "BAJA", "2025-04-01"),
                item("R3", "CAMBIO", "2025-04-01", nombre="Pedro"),
            ],
        ),
        _first(6)[0],  # a redelivery of what the registry got before the migration
    ]


def _keys(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT version FROM people UNION ALL SELECT version FROM source_records "
                "UNION ALL SELECT link_version FROM source_records "
                "UNION ALL SELECT geo_version FROM source_records "
                "WHERE geo_version IS NOT NULL UNION ALL SELECT version FROM applied_items"
            )
        )
        return [row[0] for row in rows]


def test_readable_keys_are_rewritten_and_the_registry_goes_on_as_if_always_compact(
    db_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate(db_engine, "0009")
    with monkeypatch.context() as patch:  # the 0009 code's keys
        patch.setattr("hub.registry.writer.version_prefix", _readable_prefix)
        patch.setattr("hub.registry.writer.version", _readable)
        writer = RegistryWriter(db_engine)
        for head, items in _first(6):
            writer.apply(head, items)
    old = _keys(db_engine)
    assert old and all("|" in key for key in old)

    migrate(db_engine)
    new = _keys(db_engine)
    assert len(new) == len(old) and all(len(key) == 49 and "|" not in key for key in new)
    # each stored key is what the compact code computes for the item that decided it
    expected = {version(head, it) for head, items in _first(6) for it in items}
    assert set(new) <= expected

    writer = RegistryWriter(db_engine)
    for head, items in _after():
        writer.apply(head, items)
    migrated = snapshot(db_engine)

    clear(db_engine)
    writer = RegistryWriter(db_engine)
    for head, items in [*_first(6), *_after()]:
        writer.apply(head, items)
    assert snapshot(db_engine) == migrated


def test_compact_keys_keep_the_order_of_the_readable_ones() -> None:
    zones = [dt.UTC, dt.timezone(dt.timedelta(hours=-6))]
    pairs = []
    for day in ("2024-12-31", "2025-01-01"):
        for hour in (0, 23):
            for zone in zones:
                sent = dt.datetime(2025, 1, 1, hour, 0, 0, 999_999 if hour else 1, tzinfo=zone)
                head = header("m", sent_at=sent)
                it = item("R", effective=day)
                pairs.append((_readable(head, it), version(head, it)))
    by_old = [new for _, new in sorted(pairs)]
    assert by_old == sorted(new for _, new in pairs)


def test_downgrading_below_0010_refuses_with_a_reason(db_engine: Engine) -> None:
    migrate(db_engine)
    config = Config()
    config.set_main_option("script_location", hub.migrations.__path__[0])
    with db_engine.begin() as connection, pytest.raises(RuntimeError, match="no se puede revertir"):
        config.attributes["connection"] = connection
        command.downgrade(config, "0009")


def test_the_rewrite_reads_send_years_the_old_code_wrote_with_fewer_digits() -> None:
    spec = importlib.util.spec_from_file_location(
        "m0010", Path(hub.migrations.__path__[0]) / "versions" / "0010_compact_order_keys.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    head = header("m", sent_at=dt.datetime(999, 5, 1, tzinfo=dt.UTC))
    it = item("R", effective="2025-01-01")
    identity = "\x1f".join(("CONV-BIENESTAR-07", "m", "R"))
    readable = f"2025-01-01|999-05-01T00:00:00.000000|{identity}"
    assert module.compact(readable) == version(head, it)
    assert module.compact(version(head, it)) == version(head, it)  # compact keys stay
