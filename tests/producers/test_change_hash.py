"""A moved payment date is no CAMBIO: in a new state, in an upgraded one, after SDK changes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from hub.agreements import demo_private_key
from producers import AgencyClient, ProduceOptions, produce_file, snapshot
from producers.contract import SchemaSource
from producers.mapping import read_records
from producers.pipeline import codec_spec
from producers.store import open_state
from producers.tail_writer import content_hash
from tests.producers.conftest import agreement

PAM = "CONV-BIENESTAR-PAM-2026"


def _produce(settings, path: Path, **options):
    return produce_file(
        agreement(PAM), demo_private_key(PAM), ProduceOptions(input=path, **options), settings
    )


def _with_payment_dates_moved(path: Path, out: Path, new_date: str = "20260315") -> int:
    """``path`` with every FEC_PAGO set to ``new_date``: the rows that changed."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("|")
    at = header.index("FEC_PAGO")
    changed = 0
    rows = [lines[0]]
    for line in lines[1:]:
        cells = line.split("|")
        changed += cells[at] != new_date
        cells[at] = new_date
        rows.append("|".join(cells))
    out.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return changed


def _enrollment_changes(first: Path, second: Path) -> int:
    """References in both files whose rows differ in something else than FEC_PAGO."""

    def rows(path: Path) -> dict[str, str]:
        lines = path.read_text(encoding="utf-8").splitlines()
        at = lines[0].split("|").index("FEC_PAGO")
        found = {}
        for line in lines[1:]:
            cells = line.split("|")
            del cells[at]
            found[cells[0]] = "|".join(cells)
        return found

    before, after = rows(first), rows(second)
    return sum(1 for ref in before.keys() & after.keys() if before[ref] != after[ref])


def test_moved_payment_dates_alone_send_nothing(settings, synth, tmp_path: Path) -> None:
    path = synth(PAM, people=50)
    assert _produce(settings, path).altas == 50
    moved = tmp_path / "fechas-movidas.txt"
    assert _with_payment_dates_moved(path, moved) == 50
    summary = _produce(settings, moved)
    assert (summary.altas, summary.cambios, summary.bajas, summary.change_sets) == (0, 0, 0, 0)
    # the snapshot keeps the new dates all the same: a later BAJA carries the last tail seen
    contract = SchemaSource.for_settings(settings).changeset_contract(agreement(PAM))
    spec = codec_spec(agreement(PAM), contract.schema_id, contract.definition)
    records = [r.values for r in read_records(moved, agreement(PAM).layout)]
    conn = open_state(settings, PAM)
    stored = {bytes(tail) for (tail,) in conn.execute("select tail from snapshot")}
    conn.close()
    assert stored == set(spec.tail_batch_encoder()(records))


def test_a_snapshot_of_the_whole_tail_hash_is_upgraded_without_cambios(
    settings, synth, tmp_path: Path
) -> None:
    """A state database written before the change hash: its hashes cover the whole tail."""
    first, second = synth(PAM, people=150, delivery=1), synth(PAM, people=150, delivery=2)
    assert _produce(settings, first).altas == 150
    conn = open_state(settings, PAM)
    rows = conn.execute("select rowid, tail from snapshot").fetchall()
    conn.execute("BEGIN")
    conn.executemany(  # what the old producer stored, and no record of the hash's kind
        "update snapshot set hash = ? where rowid = ?",
        [(content_hash(bytes(tail)), rowid) for rowid, tail in rows],
    )
    conn.execute("delete from meta where key = ?", (snapshot.HASH_KEY,))
    conn.execute("drop table if exists snapshot_rehash")
    # one reference a receipt made unknown (``forget``) must stay a CAMBIO
    (forgotten,) = conn.execute("select reference_id from snapshot limit 1").fetchone()
    conn.execute("update snapshot set hash = 0 where reference_id = ?", (forgotten,))
    conn.execute("COMMIT")
    conn.close()

    dry = _produce(settings, second, dry_run=True)
    conn = open_state(settings, PAM)
    assert conn.execute("select count(*) from meta").fetchone()[0] == 0  # the dry run undid it
    conn.close()
    summary = _produce(settings, second)
    expected = _enrollment_changes(first, second)
    assert 0 < expected < 20
    assert summary.cambios == dry.cambios
    assert summary.cambios in (expected, expected + 1)  # + the forgotten one, unless gone
    cambios = summary.cambios
    conn = open_state(settings, PAM)
    assert conn.execute("select value from meta where key = ?", (snapshot.HASH_KEY,)).fetchone()
    conn.close()
    # the upgrade ran once: the same file again changes nothing
    again = _produce(settings, second)
    assert (again.altas, again.cambios, again.bajas) == (0, 0, 0), cambios


def test_sdk_changes_are_rehashed_before_the_next_file(settings, synth) -> None:
    path = synth(PAM, people=20)
    assert _produce(settings, path).altas == 20
    values = [r.values for r in read_records(path, agreement(PAM).layout)]
    first, second = values[0], values[1]

    def flat(record: dict[str, object], **changes: object) -> dict[str, object]:
        skip = {"reference_id", "operation", "effective_date"}
        return {k: v for k, v in {**record, **changes}.items() if k not in skip}

    with AgencyClient(PAM, demo_private_key(PAM), settings=settings) as client:
        # the payment date alone moved; then a real change (the address)
        client.publish_change(
            "CAMBIO",
            reference_id=str(first["reference_id"]),
            person=flat(first, fecha_beneficio=date(2026, 2, 20)),
        )
        client.publish_change(
            "CAMBIO",
            reference_id=str(second["reference_id"]),
            person=flat(second, domicilio="CALLE NUEVA 1"),
        )
    conn = open_state(settings, PAM)
    assert conn.execute("select count(*) from snapshot_rehash").fetchone()[0] == 2
    conn.close()
    # the file still has the first row's old date (no change) and the second row's old address
    summary = _produce(settings, path)
    assert (summary.altas, summary.cambios, summary.bajas) == (0, 1, 0)
    conn = open_state(settings, PAM)
    assert conn.execute("select count(*) from snapshot_rehash").fetchone()[0] == 0
    conn.close()
