"""Migration 0006 on a hub that already counted: its first delivery stays its initial load."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from hub.compliance.store import first_transaction, read_compliance
from hub.compliance.tables import compliance_deliveries
from hub.db import migrate
from hub.gatekeeper.ledger import processed_messages

AGREEMENT = "CONV-BIENESTAR-PAM-2026"
T0 = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def test_accepted_sets_are_filled_from_the_ledger(db_engine: Engine) -> None:
    migrate(db_engine, "0005")
    # refused (not in force yet), then delivered in two chunks, one all-rejected
    ledger = [
        ("refused", "m1", "REJECTED"),
        ("delivered", "m2", "PARTIAL"),
        ("delivered", "m3", "REJECTED"),
        ("later", "m4", "ACCEPTED"),
    ]
    with db_engine.begin() as conn:
        for offset, (transaction, message, outcome) in enumerate(ledger):
            conn.execute(
                insert(processed_messages).values(
                    topic="t",
                    kafka_partition=0,
                    kafka_offset=offset,
                    agreement_id=AGREEMENT,
                    message_id=message,
                    header_agreement_id=AGREEMENT,
                    header_message_id=message,
                    transaction_id=transaction,
                    outcome=outcome,
                    processed_at=T0 + dt.timedelta(hours=offset),
                )
            )
        for hours, transaction in enumerate(("refused", "delivered", "later")):
            conn.execute(
                insert(compliance_deliveries).values(
                    agreement_id=AGREEMENT,
                    transaction_id=transaction,
                    first_seen_at=T0 + dt.timedelta(hours=hours),
                )
            )
    migrate(db_engine)

    d = compliance_deliveries.c
    with db_engine.connect() as conn:
        rows = dict(conn.execute(select(d.transaction_id, d.accepted_sets)).all())
        assert rows == {"refused": 0, "delivered": 1, "later": 1}
        assert first_transaction(conn, AGREEMENT) == "delivered"
    (row,) = read_compliance(db_engine)
    assert (row.deliveries, row.transactions) == (2, 3)
    assert row.last_lag_seconds is None  # not kept per transaction before 0006
