"""A file delivery, end to end: stage, diff, chunk, sign, outbox, publish, wait for receipts.

``produce_file`` is what ``sisi produce`` runs. The snapshot replacement and the outbox rows of a
delivery are written in one SQLite transaction: after a crash either the whole delivery is in
the outbox (and ``sisi outbox resend`` publishes it) or none of it is and the snapshot is the old
one. Publishing happens only after that commit, so nothing reaches the broker that the outbox
does not hold.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.agreements import Agreement
from hub.envelope import Envelope, seal
from hub.errors import AgreementError, InputFileError
from hub.settings import Settings
from hub.topics import agreement_changes
from producers import snapshot
from producers.changeset import ChangeSetCodec
from producers.chunks import ChunkJob, FramedChunk, chunk_count, framed_chunks
from producers.contract import SchemaSource
from producers.delivery_checks import refuse_wrong_layout, refuse_wrong_period
from producers.outbox import PENDIENTE, PUBLICADO, Outbox
from producers.peak_memory import peak_rss_mb
from producers.publisher import Publisher, topic_exists
from producers.receipts import ReceiptListener
from producers.staging import ChunkHelper, CodecSpec, stage_file
from producers.store import checkpoint_in_background, delivery_lock, open_state, state_path
from producers.summary import (
    ProduceSummary,
    default_report,
    describe_code,
    report_columns,
    write_report,
)

__all__ = ["DEFAULT_CHUNK_SIZE", "ProduceOptions", "Progress", "codec_spec", "produce_file"]

DEFAULT_CHUNK_SIZE = 500
#: Chunks that may wait for their signature before the encoder waits for the signer.
_SIGNING_AHEAD = 8


@dataclass(frozen=True)
class ProduceOptions:
    """How to deliver one file."""

    input: Path
    period: str | None = None
    dry_run: bool = False
    wait: bool = False
    timeout: float = 60.0
    chunk_size: int = DEFAULT_CHUNK_SIZE
    report: Path | None = None
    parts: int | None = None
    today: date | None = None
    #: let one delivery drop more than :data:`MASS_BAJA_SHARE` of the padrón
    allow_mass_bajas: bool = False


@dataclass(frozen=True)
class Progress:
    """Callbacks for a progress display: rows read, change sets published."""

    rows: Callable[[int], None] | None = None
    start_publishing: Callable[[int], None] | None = None
    published: Callable[[int], None] | None = None


def codec_spec(agreement: Agreement, schema_id: int, definition: object) -> CodecSpec:
    """The codec parameters for an agreement: scope and the benefit's periodicity."""
    periodicity = agreement.programs[0].benefit.periodicity if agreement.programs else None
    return CodecSpec(schema_id, definition, tuple(agreement.scope.fields), periodicity)


def _check(agreement: Agreement, options: ProduceOptions) -> None:
    if agreement.kind != "padron":
        raise AgreementError(
            f"el convenio {agreement.id} es de tipo '{agreement.kind}', no de padrón",
            field="agreement",
            hint="sisi produce envía padrones; use un convenio de tipo padron.",
        )
    if options.period is not None:
        try:
            snapshot.period_start(options.period)
        except ValueError as exc:
            raise InputFileError(str(exc), field="period", hint="use --period AAAA-MM") from exc
    if not 1 <= options.chunk_size <= 5000:
        raise InputFileError(
            f"tamaño de fragmento {options.chunk_size} fuera de rango",
            field="chunk-size",
            hint="use entre 1 y 5000 elementos por conjunto de cambios.",
        )


#: The share of the padrón one delivery may drop (BAJA) without ``allow_mass_bajas``.
MASS_BAJA_SHARE = 0.5


def _refuse_mass_bajas(
    conn: sqlite3.Connection, summary: ProduceSummary, options: ProduceOptions
) -> None:
    """Refuse a delivery that would drop most of the padrón, unless the agency says it means it.

    An empty, truncated or wrong file (a header only, the wrong sheet...) looks exactly like a
    padrón whose beneficiaries all left: every reference missing from it becomes a BAJA. The hub
    would apply them. Nothing is written or sent; the staged file is dropped.
    """
    if options.allow_mass_bajas or not summary.bajas:
        return
    (padron,) = conn.execute("SELECT count(*) FROM snapshot").fetchone()
    if summary.bajas <= MASS_BAJA_SHARE * padron:
        return
    conn.execute("DROP TABLE IF EXISTS staging")
    valid = summary.read - summary.invalid_rows
    raise InputFileError(
        f"la entrega daría de baja a {summary.bajas:,} de los {padron:,} registros del padrón "
        f"({summary.bajas / padron:.0%}): el archivo trae {summary.read:,} filas, {valid:,} "
        "válidas; no se envió nada",
        path=options.input,
        hint="si el archivo está vacío, incompleto o es otro, corríjalo y entréguelo de nuevo; "
        "si de verdad terminan esos beneficios, vuelva a ejecutar con --allow-mass-bajas",
    )


def _payments(
    conn: sqlite3.Connection,
    summary: ProduceSummary,
    options: ProduceOptions,
    months: dict[str | None, int],
) -> None:
    """What the file's amounts and payment dates mean for the delivery's payments.

    Without a period no PAGO is sent: the summary counts the rows with an amount and names the
    month most of their dates fall in. With one, a row pays in the period only if its payment
    date falls in the period's month (``snapshot``); the others are counted by month, and a
    file none of whose dates falls in it is refused (``refuse_wrong_period``).
    """
    dated = {month: count for month, count in months.items() if month is not None}
    if dated:
        summary.payment_month = min(dated.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    summary.period = options.period
    if options.period is None:
        summary.payments_without_period = sum(months.values())
        return
    refuse_wrong_period(conn, options.input, options.period, months)
    summary.payments_outside_period = {
        month: count for month, count in sorted(dated.items()) if month != options.period
    }


def produce_file(
    agreement: Agreement,
    private_key: Ed25519PrivateKey,
    options: ProduceOptions,
    settings: Settings,
    progress: Progress | None = None,
) -> ProduceSummary:
    """Deliver ``options.input`` under ``agreement``; the summary says what happened."""
    _check(agreement, options)
    progress = progress or Progress()
    today = options.today or date.today()
    source = SchemaSource.for_settings(settings)
    contract = source.changeset_contract(agreement)
    spec = codec_spec(agreement, contract.schema_id, contract.definition)
    summary = ProduceSummary(agreement.id, str(options.input), dry_run=options.dry_run)
    scratch = _dry_run_scratch(settings, agreement, options)
    if scratch is not None:  # stage in a throwaway state of the same shape, removed at the end
        settings = settings.model_copy(update={"data_dir": scratch})
    try:
        return _produce(agreement, private_key, options, settings, progress, today, spec, summary)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _dry_run_scratch(
    settings: Settings, agreement: Agreement, options: ProduceOptions
) -> Path | None:
    """A temporary data directory for a dry run of an agreement without local state yet.

    A dry run changes no state; with no state to compare against it must not create any
    either (``$SISI_DATA_DIR/producer/`` and the agreement's database), so it stages in a
    private temporary directory instead and compares against an empty snapshot, as the first
    real delivery would.
    """
    if not options.dry_run or state_path(settings, agreement.id).exists():
        return None
    return Path(tempfile.mkdtemp(prefix=f"sisi-prueba-{agreement.id}-"))  # mode 0700


def _produce(
    agreement: Agreement,
    private_key: Ed25519PrivateKey,
    options: ProduceOptions,
    settings: Settings,
    progress: Progress,
    today: date,
    spec: CodecSpec,
    summary: ProduceSummary,
) -> ProduceSummary:
    """``produce_file`` once the state it uses is chosen."""
    conn = open_state(settings, agreement.id)
    # no checkpoint inside the delivery's COMMITs: helper threads copy the WAL behind it
    conn.execute("PRAGMA wal_autocheckpoint=0")
    checkpoint: threading.Thread | None = None
    helper: ChunkHelper | None = None
    try:
        with delivery_lock(settings, agreement.id):
            staged = stage_file(
                conn,
                options.input,
                agreement,
                spec,
                reference_data=settings.reference_data,
                today=today,
                parts=options.parts,
                progress=progress.rows,
                keep_helper=not options.dry_run,
            )
            helper = staged.helper
            summary.read = staged.read
            summary.invalid_rows = staged.invalid_rows
            summary.invalid_by_code = staged.invalid_by_code
            summary.warnings_by_code = staged.warnings_by_code
            summary.reader_peak_rss_mb = staged.reader_peak_rss_mb
            summary.invalid_reasons = {
                code: describe_code(code, agreement.layout) for code in staged.invalid_by_code
            }
            refuse_wrong_layout(
                conn,
                options.input,
                agreement,
                staged.read,
                staged.invalid_by_code.get("ROW_COLUMNS", 0),
            )
            # the staged rows go from the WAL into the database file while the delivery is
            # written (the second core is mostly idle then), not all at the end
            checkpoint = checkpoint_in_background(settings, agreement.id)
            if options.dry_run:  # the snapshot's upgrade, if any, is undone with the dry run
                conn.execute("BEGIN IMMEDIATE")
            try:
                snapshot.upgrade_hashes(conn, spec.change_hash())
                counts = snapshot.diff_counts(conn, today, options.period)
                hold = snapshot.bajas_on_hold(conn)
            finally:
                if options.dry_run:
                    conn.execute("ROLLBACK")
            _payments(conn, summary, options, snapshot.payment_months(conn))
            summary.altas, summary.cambios = counts.altas, counts.cambios
            summary.pagos = counts.pagos
            summary.bajas, summary.bajas_on_hold = (0, counts.bajas) if hold else (counts.bajas, 0)
            report = options.report or default_report(options.input, dry_run=options.dry_run)
            if options.dry_run or staged.invalid_rows:
                write_report(conn, report, report_columns(agreement.layout))
                summary.report = str(report)
            _refuse_mass_bajas(conn, summary, options)
            if options.dry_run:
                conn.execute("DROP TABLE IF EXISTS staging")
                summary.peak_rss_mb = peak_rss_mb()
                return summary
            transaction_id = str(uuid.uuid4())
            summary.transaction_id = transaction_id
            summary.change_sets = _write_delivery(
                conn,
                agreement,
                private_key,
                spec.build(),
                options,
                today,
                transaction_id,
                chunk_count(
                    counts.altas + counts.cambios, counts.pagos, summary.bajas, options.chunk_size
                ),
                hold_bajas=hold,
                helper=helper,
                database=state_path(settings, agreement.id),
            )
            if helper is not None:
                helper.close()
                peaks = summary.reader_peak_rss_mb
                peaks[0] = max(peaks[0], helper.peak_rss_mb)
                helper = None
        checkpoint.join()
        checkpoint = checkpoint_in_background(settings, agreement.id)
        _publish(conn, agreement, settings, options, summary, progress)
        summary.peak_rss_mb = peak_rss_mb()
        return summary
    finally:
        if helper is not None:
            helper.close()
        if checkpoint is not None:
            checkpoint.join()
        conn.close()


def _write_delivery(
    conn: sqlite3.Connection,
    agreement: Agreement,
    private_key: Ed25519PrivateKey,
    codec: ChangeSetCodec,
    options: ProduceOptions,
    today: date,
    transaction_id: str,
    change_sets: int,
    *,
    hold_bajas: bool = False,
    helper: ChunkHelper | None = None,
    database: Path | None = None,
) -> int:
    """Chunk, sign and store the delivery and replace the snapshot, in one transaction.

    The chunks are read from the diff and framed (``producers.chunks``) by ``helper``, a
    reading process kept for it, when there is one, else here. Signing (Ed25519 over each
    framed chunk) runs in a helper thread, which the signature library lets run outside the
    GIL, while this thread writes the outbox; envelopes reach the outbox in chunk order, at
    most ``_SIGNING_AHEAD`` chunks behind.
    """
    outbox = Outbox(conn)
    job = ChunkJob(
        database=database or Path(),
        today=today,
        period=options.period,
        hold_bajas=hold_bajas,
        size=options.chunk_size,
        prefix=codec.prefix,
        transaction_id=transaction_id,
        sender_id=agreement.parties.agency.key,
        agreement_id=agreement.id,
        sent_at=datetime.now(UTC),
        chunk_count=change_sets,
    )
    signer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sisi-seal")
    pending: deque[tuple[int, int, Future[Envelope]]] = deque()

    def store(*, everything: bool) -> None:
        while pending and (everything or len(pending) > _SIGNING_AHEAD or pending[0][2].done()):
            chunk_index, item_count, sealed = pending.popleft()
            outbox.add(
                sealed.result(),
                transaction_id=transaction_id,
                chunk_index=chunk_index,
                item_count=item_count,
                period=options.period,
            )

    conn.execute("BEGIN IMMEDIATE")
    count = 0
    try:
        chunks: Iterator[FramedChunk]
        if helper is not None and database is not None:
            chunks = helper.framed(job)
        else:
            chunks = framed_chunks(conn, job)
        for index, message_id, item_count, framed in chunks:
            sealed = signer.submit(seal, private_key, agreement.id, message_id, framed)
            pending.append((index, item_count, sealed))
            store(everything=False)
            count += 1
        store(everything=True)
        snapshot.apply(conn, options.period, hold_bajas=hold_bajas)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        signer.shutdown(wait=True, cancel_futures=True)
    return count


def _publish(
    conn: sqlite3.Connection,
    agreement: Agreement,
    settings: Settings,
    options: ProduceOptions,
    summary: ProduceSummary,
    progress: Progress,
) -> None:
    assert summary.transaction_id is not None
    outbox = Outbox(conn)
    topic = agreement_changes(agreement.id)
    if summary.change_sets:
        exists = topic_exists(settings, topic)
        if not exists:
            summary.unpublished = summary.change_sets
            summary.publish_error = (
                "el broker no responde"
                if exists is None
                else f"el tema {topic} no existe (el operador lo crea con 'sisi broker')"
            )
        else:
            if progress.start_publishing is not None:
                progress.start_publishing(summary.change_sets)
            publisher = Publisher(settings, timeout=options.timeout)
            result = publisher.publish(
                topic,
                outbox.unreceipted(summary.transaction_id),
                outbox.mark_published,
                progress=progress.published,
            )
            summary.published = result.published
            summary.unpublished = summary.change_sets - result.published
            if result.errors:
                summary.publish_error = next(iter(result.errors.values()))
    if options.wait and summary.published:
        # only what reached the broker can get a receipt: waiting for the sets still in the
        # outbox would only run out the timeout
        summary.waited = True
        published = [
            message_id
            for message_id in outbox.message_ids(summary.transaction_id)
            if outbox.state_of(message_id) != PENDIENTE
        ]
        listener = ReceiptListener(agreement.id, settings, conn)
        try:
            listener.wait_for(published, options.timeout)
        finally:
            listener.close()
    status = outbox.status(summary.transaction_id)
    summary.accepted = status.items.get("ACEPTADO", 0)
    summary.rejected = status.items.get("RECHAZADO", 0)
    summary.rejected_by_code = status.rejected_items
    summary.rejection_reasons = status.reasons
    # published and not answered yet; the sets never published are ``unpublished``
    summary.awaiting_receipt = status.messages.get(PUBLICADO, 0)
    summary.unpublished = status.messages.get(PENDIENTE, 0)
    if options.wait and not summary.change_sets:
        summary.waited = True
