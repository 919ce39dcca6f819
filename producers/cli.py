"""``sisi produce`` and ``sisi outbox``: deliver a padrón file, inspect and resend the outbox."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from hub.agreements import Agreement, load_agreements
from hub.errors import SisiError
from hub.settings import Settings, get_settings
from hub.topics import agreement_changes
from producers.keys import signing_key
from producers.outbox import Outbox, OutboxStatus
from producers.pipeline import DEFAULT_CHUNK_SIZE, ProduceOptions, Progress, produce_file
from producers.publisher import Publisher, topic_exists
from producers.receipts import ReceiptListener
from producers.store import open_state, state_path

__all__ = ["outbox", "produce"]


def _fail(exc: SisiError, as_json: bool) -> None:
    if as_json:
        click.echo(
            json.dumps({"error": exc.render(), "exit_code": exc.exit_code}, ensure_ascii=False)
        )
    click.echo(f"error: {exc.render()}", err=True)
    raise SystemExit(exc.exit_code)


def _agreement(settings: Settings, agreement_id: str) -> Agreement:
    return load_agreements(settings.agreements_dir).get(agreement_id)


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress]:
    """A rich progress display on a terminal; silent callbacks otherwise."""
    if not enabled:
        yield Progress()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as RichProgress

    with RichProgress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
    ) as bar:
        reading = bar.add_task("leyendo y validando", total=None)
        publishing: list[Any] = []

        def start(total: int) -> None:
            bar.update(reading, visible=False)
            publishing.append(bar.add_task("publicando conjuntos", total=total))

        yield Progress(
            rows=lambda n: bar.advance(reading, n),
            start_publishing=start,
            published=lambda n: bar.advance(publishing[0], n) if publishing else None,
        )


@click.command("produce")
@click.option("--agreement", "agreement_id", required=True, help="clave del convenio")
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(path_type=Path),
    help="archivo del padrón",
)
@click.option("--key", "key_path", type=click.Path(path_type=Path), help="clave privada (PEM)")
@click.option(
    "--period",
    help="mes de pago AAAA-MM: cada fila con monto y fecha de pago en ese mes (o sin fecha) "
    "genera un PAGO; sin --period no se envía ningún pago",
)
@click.option("--wait", is_flag=True, help="esperar los acuses del hub")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True)
@click.option(
    "--dry-run",
    is_flag=True,
    help="validar y comparar sin enviar ni tocar la instantánea; el reporte de rechazos va a "
    "ARCHIVO.prueba.rechazos.csv (no reemplaza el de una entrega real)",
)
@click.option("--json", "as_json", is_flag=True, help="resumen en JSON")
@click.option("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, show_default=True)
@click.option("--report", type=click.Path(path_type=Path), help="ruta del reporte de rechazos CSV")
@click.option("--workers", type=click.IntRange(min=1, max=8), help="procesos de lectura")
@click.option(
    "--allow-mass-bajas",
    is_flag=True,
    help="permitir que la entrega dé de baja a más de la mitad del padrón (sin esta opción se "
    "rechaza: suele ser un archivo vacío, incompleto o equivocado)",
)
def produce(
    agreement_id: str,
    input_path: Path,
    key_path: Path | None,
    period: str | None,
    wait: bool,
    timeout: float,
    dry_run: bool,
    as_json: bool,
    chunk_size: int,
    report: Path | None,
    workers: int | None,
    allow_mass_bajas: bool,
) -> None:
    """Entrega un padrón: lee, valida, compara, firma, guarda en la bandeja y publica.

    Sale con 0 si todo se envió (y, con --wait, se aceptó), 1 si hubo filas inválidas,
    rechazos o conjuntos sin publicar o sin acuse, 2 si el archivo o el convenio no sirven.
    """
    settings = get_settings()
    options = ProduceOptions(
        input=input_path,
        period=period,
        dry_run=dry_run,
        wait=wait,
        timeout=timeout,
        chunk_size=chunk_size,
        report=report,
        parts=workers,
        allow_mass_bajas=allow_mass_bajas,
    )
    try:
        agreement = _agreement(settings, agreement_id)
        private_key = signing_key(agreement, key_path)
        with _progress(sys.stderr.isatty() and not as_json) as progress:
            summary = produce_file(agreement, private_key, options, settings, progress)
    except SisiError as exc:
        _fail(exc, as_json)
    if as_json:
        click.echo(json.dumps(summary.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(summary.render())
    raise SystemExit(summary.exit_code)


def _agreement_ids(settings: Settings, agreement_id: str | None) -> list[str]:
    if agreement_id is not None:
        return [agreement_id]
    folder = settings.data_dir / "producer"
    return sorted(path.stem for path in folder.glob("*.sqlite3")) if folder.is_dir() else []


def _status_json(agreement_id: str, status: OutboxStatus) -> dict[str, Any]:
    return {
        "agreement_id": agreement_id,
        "messages": status.messages,
        "items": status.items,
        "unreceipted": status.unreceipted,
        "rejected_by_code": status.rejected_items,
        "rejection_reasons": status.reasons,
    }


#: How the items' states read in Spanish (the JSON keeps the codes).
_ITEM_STATES = {
    "PENDIENTE": "pendientes",
    "PUBLICADO": "publicados",
    "ACEPTADO": "aceptados",
    "RECHAZADO": "rechazados",
    "PARCIAL": "parciales",
}


def _render_status(agreement_id: str, status: OutboxStatus) -> str:
    lines = [f"Convenio {agreement_id}"]
    if not status.messages:
        lines.append("  la bandeja de salida está vacía")
    for state in ("PENDIENTE", "PUBLICADO", "ACEPTADO", "PARCIAL", "RECHAZADO"):
        if state in status.messages:
            lines.append(f"  {state:<10} {status.messages[state]:>8,} conjuntos")
    for state, count in sorted(status.items.items()):
        label = _ITEM_STATES.get(state, state.lower())
        lines.append(f"  elementos {label:<11} {count:>10,}")
    for code, count in sorted(status.rejected_items.items(), key=lambda kv: -kv[1]):
        lines.append(f"    {count:>8,}  {code}: {status.reasons.get(code, '')}")
    unsent = status.messages.get("PENDIENTE", 0)
    waiting = status.messages.get("PUBLICADO", 0)
    if unsent:
        lines.append(
            f"  {unsent:,} conjuntos sin publicar (no llegaron al broker): envíelos con "
            "'sisi outbox resend' cuando el broker responda"
        )
    if waiting:
        lines.append(
            f"  {waiting:,} conjuntos publicados esperan acuse del hub; si el broker perdió "
            "los mensajes use 'sisi outbox resend'"
        )
    if status.unreceipted:
        lines.append(
            "  si la clave del convenio cambió, firme de nuevo lo que espera acuse con "
            "'sisi outbox resign --key CLAVE_NUEVA'"
        )
    return "\n".join(lines)


def _refresh(settings: Settings, agreement_id: str, conn: Any, timeout: float) -> None:
    """Apply whatever receipts the topic holds (quietly does nothing if the broker is down)."""
    try:
        listener = ReceiptListener(agreement_id, settings, conn)
    except Exception:
        return
    try:
        ids = Outbox(conn).unreceipted_ids()
        if ids:
            listener.wait_for(ids, timeout)
    except SisiError:
        pass
    finally:
        listener.close()


@click.group("outbox")
def outbox() -> None:
    """Bandeja de salida: lo enviado que aún espera el acuse del hub."""


@outbox.command("status")
@click.option("--agreement", "agreement_id", help="clave del convenio (por omisión: todos)")
@click.option("--json", "as_json", is_flag=True)
@click.option("--refresh/--no-refresh", default=True, help="leer antes los acuses disponibles")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=3.0, show_default=True)
def status(agreement_id: str | None, as_json: bool, refresh: bool, timeout: float) -> None:
    """Muestra cuántos conjuntos hay en cada estado y los motivos de rechazo."""
    settings = get_settings()
    results = []
    for agreement in _agreement_ids(settings, agreement_id):
        if not state_path(settings, agreement).exists():
            results.append((agreement, OutboxStatus({}, {}, {}, {})))
            continue
        conn = open_state(settings, agreement)
        try:
            if refresh:
                _refresh(settings, agreement, conn, timeout)
            results.append((agreement, Outbox(conn).status()))
        finally:
            conn.close()
    if as_json:
        payload = [_status_json(agreement, st) for agreement, st in results]
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    elif not results:
        click.echo("no hay bandejas de salida en este equipo")
    else:
        click.echo("\n".join(_render_status(agreement, st) for agreement, st in results))


def _publish_pending(
    settings: Settings,
    agreement_id: str,
    conn: Any,
    entry: dict[str, Any],
    *,
    timeout: float,
    wait: bool,
    broker_down: str = "el broker no responde",
) -> bool:
    """Publish the outbox's unreceipted messages (and, with ``wait``, wait for their receipts),
    noting in ``entry`` what happened; whether something is left undone (exit code 1)."""
    box = Outbox(conn)
    topic = agreement_changes(agreement_id)
    undone = False
    exists = topic_exists(settings, topic)
    if not exists:
        entry["error"] = (
            broker_down
            if exists is None
            else f"el tema {topic} no existe (el operador lo crea con 'sisi broker')"
        )
        undone = True
    else:
        result = Publisher(settings, timeout=timeout).publish(
            topic, box.unreceipted(), box.mark_published
        )
        entry["published"] = result.published
        entry["failed"] = result.failed
        undone = bool(result.failed)
    if wait:
        _refresh(settings, agreement_id, conn, timeout)
        if box.unreceipted_ids():
            undone = True
    return undone


@outbox.command("resend")
@click.option("--agreement", "agreement_id", help="clave del convenio (por omisión: todos)")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True)
@click.option("--wait", is_flag=True, help="esperar los acuses del hub")
@click.option("--json", "as_json", is_flag=True)
def resend(agreement_id: str | None, timeout: float, wait: bool, as_json: bool) -> None:
    """Vuelve a publicar todo lo que no tiene acuse (el hub descarta duplicados)."""
    settings = get_settings()
    report: list[dict[str, Any]] = []
    exit_code = 0
    for agreement in _agreement_ids(settings, agreement_id):
        conn = open_state(settings, agreement)
        try:
            box = Outbox(conn)
            pending = len(box.unreceipted_ids())
            entry: dict[str, Any] = {"agreement_id": agreement, "unreceipted": pending}
            if pending and _publish_pending(
                settings, agreement, conn, entry, timeout=timeout, wait=wait
            ):
                exit_code = 1
            entry["status"] = _status_json(agreement, box.status())
            report.append(entry)
        finally:
            conn.close()
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        for entry in report:
            line = f"Convenio {entry['agreement_id']}: {entry['unreceipted']:,} sin acuse"
            if "published" in entry:
                line += f", {entry['published']:,} publicados de nuevo"
            if entry.get("failed"):
                line += f", {entry['failed']:,} fallaron"
            if "error" in entry:
                line += f"; {entry['error']}"
            click.echo(line)
    raise SystemExit(exit_code)


@outbox.command("resign")
@click.option("--agreement", "agreement_id", required=True, help="clave del convenio")
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(path_type=Path),
    help="clave privada NUEVA (PEM), cuya parte pública ya registró el hub en public_keys",
)
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True)
@click.option("--wait", is_flag=True, help="esperar los acuses del hub")
@click.option("--no-publish", is_flag=True, help="solo volver a firmar; publicar después")
@click.option("--json", "as_json", is_flag=True)
def resign(
    agreement_id: str,
    key_path: Path,
    timeout: float,
    wait: bool,
    no_publish: bool,
    as_json: bool,
) -> None:
    """Vuelve a firmar con la clave nueva lo que no tiene acuse, y lo publica de nuevo.

    Tras una rotación de clave, lo firmado con la clave anterior que el hub ya no acepta (su
    vigencia terminó o fue revocada) queda sin acuse. Esto lo firma otra vez con --key, con el
    mismo message_id y el mismo contenido: el hub lo trata como el mismo mensaje (nunca lo aplica
    dos veces). Sale con 0 si todo se publicó (y, con --wait, recibió acuse), 1 si no, 2 si la
    clave o el convenio no sirven.
    """
    from hub.agreements import load_private_key
    from hub.agreements.keys import key_id, public_key_of
    from hub.errors import SignatureError

    settings = get_settings()
    try:
        agreement = _agreement(settings, agreement_id)
        private_key = load_private_key(key_path)
        public = public_key_of(private_key)
        if not agreement.accepts_key(public):
            raise SignatureError(
                f"el convenio {agreement.id} no acepta hoy la clave {key_id(public)}",
                path=key_path,
                hint="use la clave nueva cuya parte pública el hub agregó a public_keys del "
                "convenio y que ya está en vigor (valid_from), o pida al operador registrarla",
            )
    except SisiError as exc:
        _fail(exc, as_json)
    conn = open_state(settings, agreement_id)
    try:
        box = Outbox(conn)
        entry: dict[str, Any] = {
            "agreement_id": agreement_id,
            "key_id": key_id(public),
            "resigned": box.resign(private_key),
            "unreceipted": len(box.unreceipted_ids()),
        }
        exit_code = 0
        if entry["unreceipted"] and not no_publish:
            failed = _publish_pending(
                settings,
                agreement_id,
                conn,
                entry,
                timeout=timeout,
                wait=wait,
                broker_down="el broker no responde; publique después con 'sisi outbox resend'",
            )
            exit_code = 1 if failed else 0
        entry["status"] = _status_json(agreement_id, box.status())
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps(entry, ensure_ascii=False, indent=2))
    else:
        line = (
            f"Convenio {agreement_id}: {entry['resigned']:,} conjuntos firmados de nuevo con la "
            f"clave {entry['key_id']}; {entry['unreceipted']:,} sin acuse"
        )
        if "published" in entry:
            line += f", {entry['published']:,} publicados"
        if entry.get("failed"):
            line += f", {entry['failed']:,} fallaron"
        if "error" in entry:
            line += f"; {entry['error']}"
        if wait:
            line += f"; quedan {entry['status']['unreceipted']:,} sin acuse"
        click.echo(line)
    raise SystemExit(exit_code)
