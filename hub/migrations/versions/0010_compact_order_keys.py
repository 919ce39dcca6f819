"""Registry: order keys in their compact form (49 characters instead of ~110).

Every padrón row keeps the order key of the items that decided it (``people.version``,
``source_records.version``, ``link_version`` and ``geo_version``, ``applied_items.version``): five
keys per new item. Their readable form ``date|sent_at|agreement␟message␟reference`` was about
a fifth of the bytes the registry writes per item. The compact form (see
:mod:`hub.registry.items`): the ISO date, the send time as 15 hexadecimal digits of microseconds
since 0001-01-01, and 24 hexadecimal digits of BLAKE2b over the identity.

Order: the same for keys whose dates or send times differ. Two items with the same effective date
and the same send time (two change sets of one delivery) were ordered by their identity and are
now ordered by its digest: a record or a person whose stored state was decided by such a tie
keeps it until an item makes the registry re-fold that record, which then follows the new order
(every state stays the one some arrival order would give). Stop every hub worker before
upgrading: a worker of the previous version writing readable keys next to compact ones would win
every such tie (``|`` sorts after the hexadecimal digits); running this migration again rewrites
them.

The rewrite is computed here from each stored key alone (it holds all three parts), so it does not
depend on the code of the day. Keys already compact are left as they are. The old form cannot be
rebuilt from the digest: downgrading refuses.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_EPOCH = dt.datetime(1, 1, 1)
_MICROSECOND = dt.timedelta(microseconds=1)
_CHUNK = 5000

#: table -> (primary key columns, order-key columns)
_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "people": (("id",), ("version",)),
    "source_records": (
        ("agreement_id", "reference_id"),
        ("link_version", "version", "geo_version"),
    ),
    "applied_items": (("agreement_id", "reference_id", "message_id"), ("version",)),
}


def compact(key: str | None) -> str | None:
    """The compact form of a readable order key (compact keys and None are returned as given)."""
    if key is None or "|" not in key:
        return key
    date, sent, identity = key.split("|", 2)
    year, rest = sent.split("-", 1)  # strftime wrote years before 1000 with fewer digits
    micros = (dt.datetime.fromisoformat(f"{int(year):04d}-{rest}") - _EPOCH) // _MICROSECOND
    digest = hashlib.blake2b(identity.encode(), digest_size=12).hexdigest()
    return f"{date}{micros:015x}{digest}"


def _rewrite(table: str, keys: Sequence[str], columns: Sequence[str]) -> None:
    conn = op.get_bind()
    t = sa.table(table, *(sa.column(name) for name in (*keys, *columns)))
    update = (
        t.update()
        .where(*(t.c[k] == sa.bindparam(f"k_{k}") for k in keys))
        .values({c: sa.bindparam(f"v_{c}") for c in columns})
    )
    select = sa.select(*(t.c[k] for k in keys), *(t.c[c] for c in columns))
    select = select.order_by(*(t.c[k] for k in keys)).limit(_CHUNK)
    last: tuple[object, ...] | None = None
    while True:  # keyset pages: bounded memory on a registry of any size
        page = select if last is None else select.where(sa.tuple_(*(t.c[k] for k in keys)) > last)
        rows = conn.execute(page).fetchall()
        if not rows:
            return
        batch = []
        for row in rows:
            values = {f"v_{c}": compact(row[len(keys) + i]) for i, c in enumerate(columns)}
            if all(values[f"v_{c}"] == row[len(keys) + i] for i, c in enumerate(columns)):
                continue
            batch.append({**{f"k_{k}": row[i] for i, k in enumerate(keys)}, **values})
        if batch:
            conn.execute(update, batch)
        last = tuple(rows[-1][: len(keys)])


def upgrade() -> None:
    for table, (keys, columns) in _KEYS.items():
        _rewrite(table, keys, columns)


def downgrade() -> None:
    raise RuntimeError(
        "0010 no se puede revertir: las claves de orden compactas guardan un resumen (BLAKE2b) "
        "de la identidad del elemento y la forma anterior no se puede reconstruir. Restaure un "
        "respaldo de la base anterior a la migración 0010."
    )
