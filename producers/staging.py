"""Stream an agency file into the staging table: read, map, validate, encode, across processes.

Each part reads the whole file with the agreement's layout (splitting rows is cheap) but maps,
validates and encodes only the rows whose line number falls to it (``line % parts == part``).
With one part everything runs in this process; with more, every part is a child process
(``python -m producers.staging_worker``) sending bounded batches back through a pipe, and this
process only inserts them into SQLite as they come (so it never loads the INEGI catalogs).
Nothing proportional to the file stays in memory: valid rows go to ``staging`` (reference,
line, content hash, Avro tail, effective date, payment date, whether an amount was given),
invalid rows to ``invalid`` with every issue (line, reference, field, code, Spanish reason).
"""

from __future__ import annotations

import os
import pickle
import queue as queue_module
import sqlite3
import struct
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final

from hub.agreements import Agreement
from hub.errors import InputFileError, SisiError
from hub.validation.geography import GeoCatalog
from hub.validation.issues import ValidationIssue
from hub.validation.record import validate_item
from producers.changeset import ChangeSetCodec, content_hash, epoch_days
from producers.mapping import RowReader, compile_layout
from producers.mapping.records import required_fields
from producers.peak_memory import peak_rss_mb

__all__ = [
    "DUPLICATE_CODE",
    "DUPLICATE_REASON",
    "CodecSpec",
    "StageResult",
    "create_staging",
    "stage_file",
    "worker_main",
]

DUPLICATE_CODE: Final = "REFERENCE_DUPLICATE"
DUPLICATE_REASON: Final = (
    "el reference_id se repite en el archivo; se tomó la primera fila y esta se descartó"
)
_BATCH: Final = 2_000
#: Below this size a file is read in this process only (starting processes costs more).
_PARALLEL_MIN_BYTES: Final = 8 * 1024 * 1024

StagedRow = tuple[str, int, int, bytes, int | None, int | None, int]
InvalidRow = tuple[int, str | None, str, str, str]


@dataclass(frozen=True)
class CodecSpec:
    """What a process needs to build the ``ChangeSetCodec`` (picklable)."""

    schema_id: int
    definition: Any
    scope: tuple[str, ...]
    periodicity: str | None

    def build(self) -> ChangeSetCodec:
        return ChangeSetCodec(
            self.schema_id, self.definition, scope=self.scope, periodicity=self.periodicity
        )


@dataclass
class StageResult:
    """What staging found: rows read, invalid rows (and issues by code), warnings by code."""

    read: int = 0
    invalid_rows: int = 0
    invalid_by_code: dict[str, int] = field(default_factory=dict)
    warnings_by_code: dict[str, int] = field(default_factory=dict)
    reader_peak_rss_mb: list[float] = field(default_factory=list)


def create_staging(conn: sqlite3.Connection) -> None:
    """Fresh ``staging`` and ``invalid`` tables (a leftover from an interrupted run is dropped)."""
    conn.executescript(
        """
        DROP TABLE IF EXISTS staging;
        DROP TABLE IF EXISTS invalid;
        CREATE TABLE staging (
            reference_id TEXT NOT NULL, line INTEGER, hash INTEGER NOT NULL, tail BLOB NOT NULL,
            eff INTEGER, paid INTEGER, has_amount INTEGER
        );
        CREATE TABLE invalid (
            line INTEGER NOT NULL, reference_id TEXT, field TEXT NOT NULL, code TEXT NOT NULL,
            message TEXT NOT NULL
        );
        """
    )


def _new_issues(
    known: list[ValidationIssue], found: list[ValidationIssue]
) -> list[ValidationIssue]:
    """Validation issues not already reported by the mapping (same rule as ``read_records``)."""
    seen = set(known)
    fields = {issue.field for issue in known}
    return [i for i in found if i not in seen and not (i.code == "REQUIRED" and i.field in fields)]


def _days(value: object) -> int | None:
    return epoch_days(value) if isinstance(value, date) else None


def _part_batches(
    path: str,
    agreement: Agreement,
    spec: CodecSpec,
    part: int,
    parts: int,
    reference_data: Path | None,
    today: date | None,
) -> Iterator[tuple[list[StagedRow], list[InvalidRow], dict[str, int]]]:
    """This part's rows, in batches of (valid rows, invalid issues, warning counts)."""
    layout = agreement.layout
    geo = GeoCatalog.load(reference_data)
    codec = spec.build()
    required = required_fields(layout)
    staged: list[StagedRow] = []
    invalid: list[InvalidRow] = []
    warnings: dict[str, int] = {}
    with RowReader(path, layout) as rows:
        try:
            mapper = compile_layout(layout, rows.header, catalog=geo)
        except InputFileError as exc:
            raise InputFileError(exc.message, path=path, field=exc.field, hint=exc.hint) from exc
        for line, row in rows:
            if parts > 1 and line % parts != part:
                continue
            record = mapper.map(line, row)
            values = record.values
            issues = record.issues
            found = validate_item(values, catalog=geo, required=required, today=today)
            if found:
                issues.extend(_new_issues(issues, found) if issues else found)
            failed = False
            for issue in issues:
                if issue.severity == "error":
                    failed = True
                else:
                    warnings[issue.code] = warnings.get(issue.code, 0) + 1
            reference = values.get("reference_id")
            ref = reference if isinstance(reference, str) and reference else None
            if failed or ref is None:
                invalid.extend(
                    (line, ref, i.field, i.code, i.message) for i in issues if i.severity == "error"
                )
                if not failed:  # no reference at all: already REQUIRED by validation
                    invalid.append((line, None, "reference_id", "REQUIRED", "falta reference_id"))
            else:
                tail = codec.encode_tail(values)
                monto = values.get("monto")
                staged.append(
                    (
                        ref,
                        line,
                        content_hash(tail),
                        tail,
                        _days(values.get("effective_date")),
                        _days(values.get("fecha_beneficio")),
                        1 if monto is not None else 0,
                    )
                )
            if len(staged) + len(invalid) >= _BATCH:
                yield staged, invalid, warnings
                staged, invalid, warnings = [], [], {}
    yield staged, invalid, warnings


def worker_main() -> None:
    """Entry point of a reading process (``python -m producers.staging_worker``).

    Reads its arguments as one pickle on stdin and writes length-prefixed pickles on stdout:
    ``("batch", ...)`` many times, then ``("done", peak RSS in MB)`` or ``("error", SisiError)``.
    """
    args = pickle.load(sys.stdin.buffer)
    out = sys.stdout.buffer

    def send(kind: str, payload: object) -> None:
        data = pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL)
        out.write(struct.pack(">I", len(data)))
        out.write(data)

    try:
        for batch in _part_batches(*args):
            send("batch", batch)
        send("done", peak_rss_mb())
    except SisiError as exc:
        error = InputFileError(
            exc.message, path=exc.path, field=exc.field, line=exc.line, hint=exc.hint
        )
        send("error", error)
    except Exception as exc:  # anything else still ends the run with a readable message
        send("error", InputFileError(f"fallo al leer el archivo: {exc!r}", path=args[0]))
    out.flush()


class _Worker:
    """A reading process and the thread that moves its batches into the shared queue."""

    def __init__(self, args: tuple[Any, ...], queue: queue_module.Queue[tuple[str, Any]]) -> None:
        self.queue = queue
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "producers.staging_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdin is not None
        pickle.dump(args, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self.proc.stdin.close()
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        while True:
            size = stream.read(4)
            if len(size) < 4:
                message = "un proceso de lectura terminó sin terminar el archivo"
                self.queue.put(("error", InputFileError(message)))
                return
            kind, payload = pickle.loads(stream.read(struct.unpack(">I", size)[0]))
            self.queue.put((kind, payload))
            if kind != "batch":
                return

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class _Sink:
    """Inserts batches into ``staging``/``invalid`` and keeps the counts."""

    def __init__(self, conn: sqlite3.Connection, progress: Callable[[int], None] | None) -> None:
        self.conn = conn
        self.progress = progress
        self.result = StageResult()

    def add(self, batch: tuple[list[StagedRow], list[InvalidRow], Mapping[str, int]]) -> None:
        staged, invalid, warnings = batch
        if staged:
            self.conn.executemany("INSERT INTO staging VALUES (?,?,?,?,?,?,?)", staged)
        if invalid:
            self.conn.executemany("INSERT INTO invalid VALUES (?,?,?,?,?)", invalid)
        for code, count in warnings.items():
            counts = self.result.warnings_by_code
            counts[code] = counts.get(code, 0) + count
        rows = len(staged) + len({row[0] for row in invalid})
        self.result.read += rows
        if self.progress is not None:
            self.progress(rows)


def _parts_for(path: Path, agreement: Agreement, parts: int | None) -> int:
    if parts is not None:
        return max(1, parts)
    if agreement.layout.format == "xlsx":
        return 1
    try:
        size = path.stat().st_size
    except OSError:
        return 1
    return 2 if size >= _PARALLEL_MIN_BYTES and (os.cpu_count() or 1) > 1 else 1


def stage_file(
    conn: sqlite3.Connection,
    path: Path,
    agreement: Agreement,
    spec: CodecSpec,
    *,
    reference_data: Path | None,
    today: date | None = None,
    parts: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> StageResult:
    """Read, map, validate and encode ``path`` into fresh ``staging``/``invalid`` tables.

    Duplicated reference ids keep their first row; the others move to ``invalid`` with
    ``REFERENCE_DUPLICATE``. File-level problems raise ``InputFileError``.
    """
    count = _parts_for(path, agreement, parts)
    create_staging(conn)
    sink = _Sink(conn, progress)
    workers: list[_Worker] = []
    conn.execute("BEGIN")
    try:
        if count == 1:
            for batch in _part_batches(str(path), agreement, spec, 0, 1, reference_data, today):
                sink.add(batch)
        # One queue for every reading process, bounded: the processes run side by side and
        # none can get far ahead of the inserts (a queue per process drained one after the
        # other would let only one of them run at a time).
        batches: queue_module.Queue[tuple[str, Any]] = queue_module.Queue(maxsize=8 * count)
        for part in range(count if count > 1 else 0):
            args = (str(path), agreement, spec, part, count, reference_data, today)
            workers.append(_Worker(args, batches))
        _collect(batches, len(workers), sink)
        _move_duplicates(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        for worker in workers:
            worker.stop()
    result = sink.result
    by_code = dict(conn.execute("SELECT code, count(*) FROM invalid GROUP BY code").fetchall())
    result.invalid_by_code = by_code
    result.invalid_rows = conn.execute("SELECT count(DISTINCT line) FROM invalid").fetchone()[0]
    return result


def _collect(batches: queue_module.Queue[tuple[str, Any]], workers: int, sink: _Sink) -> None:
    """Insert the batches of ``workers`` reading processes until every one of them is done."""
    done = 0
    while done < workers:
        kind, payload = batches.get()
        if kind == "batch":
            sink.add(payload)
        elif kind == "error":
            raise payload
        else:
            sink.result.reader_peak_rss_mb.append(payload)
            done += 1


def _move_duplicates(conn: sqlite3.Connection) -> None:
    """Index staging by reference and move every repeated reference out but its first row.

    The first row is the lowest line: reading processes insert their batches interleaved.
    """
    conn.execute(f"CREATE INDEX ref_{uuid.uuid4().hex} ON staging (reference_id)")
    conn.execute("DROP TABLE IF EXISTS temp.duplicate")
    conn.execute(
        "CREATE TEMP TABLE duplicate AS SELECT s.rowid AS rid, s.line, s.reference_id "
        "FROM staging s JOIN (SELECT reference_id, min(line) AS first FROM staging "
        "GROUP BY reference_id HAVING count(*) > 1) d "
        "ON s.reference_id = d.reference_id AND s.line <> d.first"
    )
    conn.execute(
        "INSERT INTO invalid SELECT line, reference_id, 'reference_id', ?, ? FROM duplicate",
        (DUPLICATE_CODE, DUPLICATE_REASON),
    )
    conn.execute("DELETE FROM staging WHERE rowid IN (SELECT rid FROM duplicate)")
    conn.execute("DROP TABLE temp.duplicate")
