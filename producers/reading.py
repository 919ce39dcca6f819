"""A reading process: one part of an agency file mapped, validated and encoded into staged rows.

``read_part`` is the work of one part; ``worker_main`` runs it in a child process
(``python -m producers.staging_worker``) and streams its batches to ``producers.staging``, which
inserts them into SQLite. This module imports only what that work needs (the layout, the
validation and the tail encoder), never the contract tooling, the CEL engine or the Kafka client:
every reading process pays for what it imports, and their memory adds up.
"""

from __future__ import annotations

import pickle
import struct
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

from hub.errors import InputFileError, SisiError
from hub.validation.geography import GeoCatalog
from hub.validation.issues import ValidationIssue
from hub.validation.record import validate_item
from producers.avro_writer import epoch_days
from producers.mapping import RowReader, compile_layout
from producers.mapping.mapper import ROW_COLUMNS
from producers.mapping.reader import Span
from producers.mapping.records import curp_derived, drop_derived_required, required_fields
from producers.peak_memory import peak_rss_mb
from producers.tail_key import compile_tail_key
from producers.tail_writer import (
    BatchTailEncoder,
    KeyedTailEncoder,
    TailEncoder,
    compile_tail,
    compile_tail_batch,
    compile_tail_keyed,
    content_hash,
    guarded,
    guarded_batch,
    item_field_types,
    item_scope,
    periodicidad_symbol,
)

if TYPE_CHECKING:
    from hub.agreements.layout import FileLayout
    from producers.changeset import ChangeSetCodec

__all__ = [
    "BATCH_ROWS",
    "STEP_ROWS",
    "CodecSpec",
    "InvalidRow",
    "StagedRow",
    "read_part",
    "worker_main",
]

#: Rows (valid and invalid) per batch sent to the staging process.
BATCH_ROWS: Final = 2_000
#: Rows mapped, validated and encoded together: a field at a time for all of them, so few
#: enough that they stay in the CPU cache between passes (2,000 at a time were no faster than
#: one by one; 100-250 save a fifth of the time per row).
STEP_ROWS: Final = 200

#: reference, line, change hash (``producers.tail_key``), tail, effective days, payment days,
#: whether an amount was given
StagedRow = tuple[str, int, int, bytes, int | None, int | None, int]
#: line, reference, field, code, Spanish reason
InvalidRow = tuple[int, str | None, str, str, str]
Batch = tuple[list[StagedRow], list[InvalidRow], dict[str, int]]
_NO_REFERENCE: Final = "falta reference_id"


@dataclass(frozen=True)
class CodecSpec:
    """What a process needs to encode items: schema id and definition, scope, periodicity."""

    schema_id: int
    definition: Any
    scope: tuple[str, ...]
    periodicity: str | None

    def build(self) -> ChangeSetCodec:
        """The full codec (items, headers, framing), as the delivering process uses it."""
        from producers.changeset import ChangeSetCodec

        return ChangeSetCodec(
            self.schema_id, self.definition, scope=self.scope, periodicity=self.periodicity
        )

    def tail_encoder(self) -> TailEncoder:
        """``ChangeSetCodec.encode_tail`` alone, without building the codec (nor fastavro)."""
        return guarded(
            compile_tail(
                item_field_types(self.definition),
                scope=item_scope(self.scope),
                periodicidad=periodicidad_symbol(self.periodicity),
            )
        )

    def tail_batch_encoder(self) -> BatchTailEncoder:
        """``tail_encoder`` for many records at once (same bytes, same errors)."""
        return guarded_batch(
            compile_tail_batch(
                item_field_types(self.definition),
                scope=item_scope(self.scope),
                periodicidad=periodicidad_symbol(self.periodicity),
            )
        )

    def keyed_batch_encoder(self) -> KeyedTailEncoder:
        """``tail_batch_encoder`` that also gives each record's change hash (``tail_key``)."""
        return guarded_batch(
            compile_tail_keyed(
                item_field_types(self.definition),
                scope=item_scope(self.scope),
                periodicidad=periodicidad_symbol(self.periodicity),
            )
        )

    def change_hash(self) -> Callable[[bytes], int | None]:
        """A tail already written -> its change hash (None: the bytes are not of this schema)."""
        key_of = compile_tail_key(item_field_types(self.definition))

        def change_hash(tail: bytes) -> int | None:
            key = key_of(tail)
            return None if key is None else content_hash(key)

        return change_hash


def _new_issues(
    known: list[ValidationIssue], found: list[ValidationIssue]
) -> list[ValidationIssue]:
    """Validation issues not already reported by the mapping (same rule as ``read_records``)."""
    seen = set(known)
    fields = {issue.field for issue in known}
    return [i for i in found if i not in seen and not (i.code == "REQUIRED" and i.field in fields)]


def _days(value: object) -> int | None:
    return epoch_days(value) if isinstance(value, date) else None


def read_part(
    path: str,
    layout: FileLayout,
    spec: CodecSpec,
    part: int,
    parts: int,
    reference_data: Path | None,
    today: date | None,
    span: Span | None = None,
) -> Iterator[Batch]:
    """This part's rows, in batches of (valid rows, invalid issues, warning counts).

    A part reads its ``span`` of the file (``producers.mapping.reader.text_spans``), or without
    one reads the whole file and takes the rows whose line falls to it (``line % parts``).
    """
    geo = GeoCatalog.load(reference_data)
    encode_tails = spec.keyed_batch_encoder()
    required = required_fields(layout)
    derived = curp_derived(layout)
    if span is not None:
        parts = 1  # every row of the span is this part's
    with RowReader(path, layout, span=span) as rows:
        try:
            mapper = compile_layout(layout, rows.header, catalog=geo, file_name=Path(path).name)
        except InputFileError as exc:
            raise InputFileError(exc.message, path=path, field=exc.field, hint=exc.hint) from exc
        staged: list[StagedRow] = []
        invalid: list[InvalidRow] = []
        warnings: dict[str, int] = {}
        for chunk in _chunks(rows, part, parts):
            all_values, all_issues = mapper.map_many(chunk)
            valid: list[int] = []
            for i, values in enumerate(all_values):
                issues = all_issues[i]
                # a row with another number of columns gets its ROW_COLUMNS issue only
                ragged = len(issues) == 1 and issues[0].code == ROW_COLUMNS
                found = (
                    []
                    if ragged
                    else validate_item(values, catalog=geo, required=required, today=today)
                )
                if found:
                    issues.extend(_new_issues(issues, found) if issues else found)
                    drop_derived_required(issues, derived)
                failed = False
                for issue in issues:
                    if issue.severity == "error":
                        failed = True
                    else:
                        warnings[issue.code] = warnings.get(issue.code, 0) + 1
                reference = values.get("reference_id")
                if failed or not (isinstance(reference, str) and reference):
                    line = chunk[i][0]
                    ref = reference if isinstance(reference, str) and reference else None
                    invalid.extend(
                        (line, ref, issue.field, issue.code, issue.message)
                        for issue in issues
                        if issue.severity == "error"
                    )
                    if not failed:  # no reference at all: already REQUIRED by validation
                        invalid.append((line, None, "reference_id", "REQUIRED", _NO_REFERENCE))
                else:
                    valid.append(i)
            records = [all_values[i] for i in valid]
            tails, hashes = encode_tails(records)
            staged += [
                (
                    cast(str, values["reference_id"]),
                    chunk[i][0],
                    change_hash,
                    tail,
                    _days(values.get("effective_date")),
                    _days(values.get("fecha_beneficio")),
                    0 if values.get("monto") is None else 1,
                )
                for i, values, tail, change_hash in zip(valid, records, tails, hashes, strict=True)
            ]
            if len(staged) + len(invalid) >= BATCH_ROWS:
                yield staged, invalid, warnings
                staged, invalid, warnings = [], [], {}
    yield staged, invalid, warnings


def _chunks(
    rows: Iterable[tuple[int, list[str]]], part: int, parts: int
) -> Iterator[list[tuple[int, list[str]]]]:
    """This part's rows, ``STEP_ROWS`` at a time."""
    chunk: list[tuple[int, list[str]]] = []
    for line, row in rows:
        if parts > 1 and line % parts != part:
            continue
        chunk.append((line, row))
        if len(chunk) == STEP_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def worker_main() -> None:
    """Entry point of a reading process (``python -m producers.staging_worker``).

    Reads ``read_part``'s arguments as one pickle on stdin and writes length-prefixed pickles on
    stdout: ``("batch", ...)`` many times, then ``("done", peak RSS in MB)`` or
    ``("error", InputFileError)``. Then, if stdin brings a ``producers.chunks.ChunkJob`` (and
    not its end or None), frames the delivery's change sets: ``("chunk", FramedChunk)`` many
    times, then ``("done", peak RSS in MB)`` or ``("error", ...)``.
    """
    stdin = sys.stdin.buffer
    args = pickle.load(stdin)
    out = sys.stdout.buffer

    def send(kind: str, payload: object) -> None:
        data = pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL)
        out.write(struct.pack(">I", len(data)))
        out.write(data)

    try:
        for batch in read_part(*args):
            send("batch", batch)
        send("done", peak_rss_mb())
    except SisiError as exc:
        error = InputFileError(
            exc.message, path=exc.path, field=exc.field, line=exc.line, hint=exc.hint
        )
        send("error", error)
        out.flush()
        return
    except Exception as exc:  # anything else still ends the run with a readable message
        send("error", InputFileError(f"fallo al leer el archivo: {exc!r}", path=args[0]))
        out.flush()
        return
    out.flush()
    try:
        job = pickle.load(stdin)
    except EOFError:
        return
    if job is None:
        return
    from producers.chunks import run_job  # only a process kept to help loads the codec

    try:
        for chunk in run_job(job):
            send("chunk", chunk)
        send("done", peak_rss_mb())
    except Exception as exc:  # the delivering process rolls back and reports it
        send("error", RuntimeError(f"fallo al preparar los conjuntos de cambios: {exc!r}"))
    out.flush()
