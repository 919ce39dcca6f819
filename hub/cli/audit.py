"""``sisi audit``: verify the hub's hash-chained audit log, show its head and its latest entries,
and answer a person's "who read my data" (``reads``)."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from hub.agreements.keys import key_id, public_key_from_str, public_key_to_str
from hub.audit.chain import GENESIS_HASH, Action, AuditEntry, ChainHead
from hub.audit.keys import load_hub_public_key, load_or_create_hub_key
from hub.audit.pseudonym import curp_digest
from hub.audit.publish import (
    CHAIN_HEAD_SUBJECT,
    entry_to_record,
    head_from_record,
    read_published_heads,
)
from hub.audit.signing import signature_valid
from hub.audit.store import (
    AuditLog,
    iter_entries,
    iter_read_subjects,
    mismatched_key,
    personal_reads,
    read_head,
    recent_entries,
)
from hub.audit.verify import ListedRead, Problem, verify_chain, verify_read_subjects
from hub.cli.registry import checked_curp, checked_purpose, open_registry, operator
from hub.contracts.schema_text import ParsedSchema
from hub.db import make_engine
from hub.errors import ConfigurationError, SignatureError, SisiError
from hub.gatekeeper.schemas import StoreSchemas
from hub.registry.queries import person_by_curp
from hub.settings import Settings
from hub.topics import PUBLIC_AUDIT_HEAD

__all__ = [
    "audit",
    "head_command",
    "list_command",
    "published_command",
    "reads_command",
    "verify_command",
]


def _open_log(settings: Settings) -> Engine:
    """The registry engine, after checking that the audit tables are there."""
    url = settings.resolved_database_url()
    hint = "revise SISI_DATABASE_URL y aplique las migraciones del hub (hub.db.migrate)"
    try:
        engine = make_engine(url)
        tables = set(inspect(engine).get_table_names())
    except SQLAlchemyError as exc:
        raise ConfigurationError(
            f"no se pudo abrir la base de datos del registro ({type(exc).__name__})", hint=hint
        ) from exc
    if not {"audit_log", "audit_chain_head"} <= tables:
        engine.dispose()
        raise ConfigurationError("la base de datos no tiene la bitácora de auditoría", hint=hint)
    return engine


@contextmanager
def _reading_log(settings: Settings) -> Iterator[Engine]:
    """The log's engine for reads; a database failure becomes a clear error, then disposed."""
    engine = _open_log(settings)
    try:
        yield engine
    except SQLAlchemyError as exc:
        raise ConfigurationError(
            f"falló la lectura de la bitácora ({type(exc).__name__})",
            hint="revise que la base de datos esté disponible y vuelva a intentar",
        ) from exc
    finally:
        engine.dispose()


def _public_key(settings: Settings, text: str | None) -> Ed25519PublicKey:
    if text is None:
        return load_hub_public_key(settings)
    try:
        return public_key_from_str(text.strip())
    except SignatureError as exc:
        raise ConfigurationError(exc.message, field="--public-key", hint=exc.hint) from exc


@click.group()
def audit() -> None:
    """Bitácora de auditoría: encadenada por hash y firmada por el hub."""


_HEX = re.compile(r"[0-9a-fA-F]*")
#: names a published head's fields go by: ``sisi audit head --json`` and ``AuditChainHead``
_HASH_FIELDS = ("entry_hash", "entry_hash_hex", "hash")
_SIGNATURE_FIELDS = ("signature", "signature_hex", "signature_b64", "signature_base64")


def _binary(text: object, size: int, path: Path, field: str) -> bytes:
    """``size`` bytes written as hex or base64 (``sisi audit head`` gives base64 signatures)."""
    if not isinstance(text, str):
        raise ConfigurationError(
            f"debe ser texto en hexadecimal o base64, no {type(text).__name__}",
            path=path,
            field=field,
            hint="use la salida de `sisi audit head --json` o un registro AuditChainHead",
        )
    value = text.strip()
    digits = value[2:] if value[:2] in ("0x", "0X") else value
    if len(digits) == 2 * size and _HEX.fullmatch(digits):
        return bytes.fromhex(digits)
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) == size:
        return decoded
    raise ConfigurationError(
        f"no es un valor de {size} bytes en hexadecimal ({2 * size} caracteres) ni en base64",
        path=path,
        field=field,
        hint="copie el valor completo tal como lo publicó el hub",
    )


def _one_of(document: Mapping[str, Any], names: tuple[str, ...], path: Path) -> tuple[str, Any]:
    for name in names:
        if document.get(name) is not None:
            return name, document[name]
    raise ConfigurationError(
        "falta en la cabeza publicada",
        path=path,
        field=names[0],
        hint="use la salida de `sisi audit head --json` o un registro AuditChainHead",
    )


def _head_from_document(document: object, path: Path) -> tuple[ChainHead, str | None]:
    """A published head and its key id from ``sisi audit head --json`` or an AuditChainHead."""
    if isinstance(document, Mapping) and isinstance(document.get("value"), Mapping):
        document = document["value"]  # a record as a Kafka tool prints it
    if not isinstance(document, Mapping):
        raise ConfigurationError(
            "no es un objeto JSON con la cabeza de la cadena",
            path=path,
            hint="use la salida de `sisi audit head --json` o un registro AuditChainHead",
        )
    sequence = document.get("sequence")
    if isinstance(sequence, str) and sequence.strip().isdigit():
        sequence = int(sequence.strip())
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
        raise ConfigurationError(
            f"debe ser un entero mayor o igual a 0, no {sequence!r}",
            path=path,
            field="sequence",
            hint="use la salida de `sisi audit head --json` o un registro AuditChainHead",
        )
    key = document.get("key_id")
    if key is not None and not isinstance(key, str):
        raise ConfigurationError("debe ser texto", path=path, field="key_id")
    if sequence == 0:
        return ChainHead(0, GENESIS_HASH, b"", None), key
    hash_field, hash_text = _one_of(document, _HASH_FIELDS, path)
    signature_field, signature_text = _one_of(document, _SIGNATURE_FIELDS, path)
    entry_hash = _binary(hash_text, len(GENESIS_HASH), path, hash_field)
    signature = _binary(signature_text, 64, path, signature_field)
    return ChainHead(sequence, entry_hash, signature, None), key


def _head_file(path: Path) -> tuple[ChainHead, str | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"no se pudo leer la cabeza publicada ({type(exc).__name__})",
            path=path,
            hint="indique el archivo guardado con `sisi audit head --json > archivo.json`",
        ) from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"no es JSON válido ({exc.msg}, columna {exc.colno})",
            path=path,
            line=exc.lineno,
            hint="use la salida de `sisi audit head --json` tal cual",
        ) from exc
    return _head_from_document(document, path)


def _schema_resolver(engine: Engine | None, settings: Settings) -> Any:
    """Writer schemas from the hub's registry; the local AuditChainHead contract if it lacks one
    (or, with no ``engine``, always: an outside checker has no access to the hub's database)."""
    store = StoreSchemas(engine) if engine is not None else None
    local = sorted(
        (Path(settings.schemas_dir) / CHAIN_HEAD_SUBJECT).glob("v*.avsc"),
        key=lambda file: int(file.stem[1:]) if file.stem[1:].isdigit() else 0,
    )

    def resolve(schema_id: int) -> ParsedSchema:
        try:
            if store is None:
                raise KeyError(schema_id)
            return store.resolve(schema_id).parsed
        except (KeyError, SQLAlchemyError):
            if not local:
                raise KeyError(schema_id) from None
            import fastavro

            parsed: ParsedSchema = fastavro.parse_schema(
                json.loads(local[-1].read_text(encoding="utf-8"))
            )
            return parsed

    return resolve


@dataclasses.dataclass(frozen=True)
class _Published:
    """A head read from the public topic or a saved file, with where it came from."""

    head: ChainHead
    key_id: str | None
    source: str
    record: Mapping[str, Any] | None = None


def _topic_heads(settings: Settings, engine: Engine | None) -> list[_Published]:
    """Every head on the public topic (exit 2 when the broker fails or the topic has none)."""
    servers = settings.bootstrap_servers
    try:
        records = read_published_heads(
            servers, PUBLIC_AUDIT_HEAD, _schema_resolver(engine, settings)
        )
    except SisiError as exc:
        raise ConfigurationError(
            f"no se pudo leer la cabeza publicada del tópico {PUBLIC_AUDIT_HEAD}: {exc.message}",
            hint=(exc.hint or "revise SISI_BOOTSTRAP_SERVERS")
            + "; o verifique con --head y una copia guardada de la cabeza",
        ) from exc
    if not records:
        raise ConfigurationError(
            f"el tópico {PUBLIC_AUDIT_HEAD} en {servers} no tiene ninguna cabeza publicada: el hub "
            "aún no publicó una, o el broker la perdió (Tansu no conserva nada al reiniciarse)",
            hint="verifique con --head ARCHIVO y una copia de la cabeza guardada fuera del hub "
            "(`sisi audit published --save DIRECTORIO` o `sisi audit head --json > "
            "cabeza-AAAA-MM-DD.json`)",
        )
    return [
        _Published(head_from_record(record), record.get("key_id"), PUBLIC_AUDIT_HEAD, record)
        for record in records
    ]


def _saved_heads(path: Path) -> list[_Published]:
    """The head in a file, or every ``*.json`` head in a directory (`audit published --save`)."""
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise ConfigurationError(
                "el directorio no tiene cabezas guardadas (*.json)",
                path=path,
                hint="guárdelas con `sisi audit published --save DIRECTORIO`",
            )
    else:
        files = [path]
    heads = []
    for file in files:
        head, key = _head_file(file)
        heads.append(_Published(head, key, str(file)))
    return heads


def _signed_by(key: Ed25519PublicKey, item: _Published) -> bool:
    return item.head.sequence == 0 or signature_valid(
        key, item.head.entry_hash, item.head.signature
    )


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
@click.option(
    "--public-key",
    default=None,
    metavar="ed25519:...",
    help="Llave pública publicada del hub (por omisión, <SISI_DATA_DIR>/keys/hub.pub).",
)
@click.option(
    "--head",
    "head_paths",
    type=click.Path(path_type=Path),
    multiple=True,
    metavar="ARCHIVO|DIRECTORIO",
    help="Cabeza publicada guardada fuera del hub (JSON de `sisi audit head --json`, un "
    "registro AuditChainHead, o un directorio de `sisi audit published --save`): la bitácora "
    "debe contener cada una. Puede repetirse.",
)
@click.option(
    "--published",
    is_flag=True,
    help="Verifica contra todas las cabezas publicadas que guarda el tópico público "
    f"{PUBLIC_AUDIT_HEAD} (SISI_BOOTSTRAP_SERVERS).",
)
@click.pass_context
def verify_command(
    ctx: click.Context,
    as_json: bool,
    public_key: str | None,
    head_paths: tuple[Path, ...],
    published: bool,
) -> None:
    """Verifica toda la bitácora: sale con 0 si está íntegra y 1 si fue alterada.

    Sin --head ni --published sólo se compara con la cabeza guardada en la misma base, que quien
    pueda escribir en ella puede retroceder: una bitácora recortada y con la cabeza reemplazada
    sólo se detecta contra una cabeza publicada. Con --published se revisan todas las cabezas
    del tópico, no sólo la última: si la bitácora se recortó y luego siguió creciendo, las
    cabezas nuevas describen la cadena nueva, pero las anteriores no están en ella.
    """
    if head_paths and published:
        raise click.UsageError("use --head o --published, no ambas")
    settings = Settings()
    key = _public_key(settings, public_key)
    fingerprint = key_id(public_key_to_str(key))
    heads: list[_Published] = [item for path in head_paths for item in _saved_heads(path)]
    ignored: list[_Published] = []
    with _reading_log(settings) as engine:
        if published:  # read before the log, which can only have grown meanwhile
            on_topic = _topic_heads(settings, engine)
            heads = [item for item in on_topic if item.key_id in (None, fingerprint)]
            heads = [item for item in heads if _signed_by(key, item)]
            ignored = [item for item in on_topic if item not in heads]
            if not heads:
                other = on_topic[-1]
                raise ConfigurationError(
                    f"ninguna de las {len(on_topic)} cabezas del tópico está firmada con la "
                    f"llave {fingerprint} (la última dice {other.key_id})",
                    path=PUBLIC_AUDIT_HEAD,
                    field="key_id",
                    hint="indique con --public-key la llave pública del hub que firmó esas cabezas",
                )
        for item in heads:
            if item.key_id is not None and item.key_id != fingerprint:
                raise ConfigurationError(
                    f"la cabeza publicada está firmada con la llave {item.key_id} y se verifica "
                    f"con la llave {fingerprint}",
                    path=item.source,
                    field="key_id",
                    hint="indique con --public-key la llave pública del hub que firmó esa cabeza",
                )
        with engine.connect() as conn:
            head = read_head(conn)
        listed: list[ListedRead] = []
        report = verify_chain(
            _noting_lists(iter_entries(engine), listed),
            key,
            expected_head=head,
            published_heads=[item.head for item in heads],
        )
        if report.ok:
            with engine.connect() as conn:  # after the walk: every entry seen is under it
                after = read_head(conn)
            if after.sequence < report.last_sequence:
                report = dataclasses.replace(
                    report,
                    first_bad_sequence=after.sequence + 1,
                    problem=Problem.EDITED,
                    reason=f"la cabeza registrada (audit_chain_head) es la {after.sequence} pero "
                    f"la bitácora llega a la entrada {report.last_sequence}; el hub mueve la "
                    "cabeza con cada entrada que agrega: alguien la retrocedió o la borró",
                )
        if report.ok and (bad := mismatched_key(engine)) is not None:
            report = dataclasses.replace(
                report,
                first_bad_sequence=bad[0],
                problem=Problem.EDITED,
                reason=f"{bad[1]} (la clave decide qué eventos se omiten por ya registrados: "
                "alguien la cambió)",
            )
        if report.ok:  # the chain vouches for each entry's people_sha256: now their rows
            stored = (
                iter_read_subjects(engine)
                if "audit_read_subjects" in inspect(engine).get_table_names()
                else iter(())
            )

            def log_end() -> int:
                with engine.connect() as conn:
                    return read_head(conn).sequence

            report = verify_read_subjects(report, listed, stored, log_end=log_end)
    if ignored:
        click.echo(
            f"aviso: se ignoraron {len(ignored)} registros del tópico {PUBLIC_AUDIT_HEAD} que no "
            f"están firmados por la llave del hub ({fingerprint}); alguien más publica en él "
            "(revise `sisi audit published`)",
            err=True,
        )
    if as_json:
        document: dict[str, Any] = report.to_dict()
        document["key_id"] = fingerprint
        document["ignored_published"] = len(ignored)
        click.echo(json.dumps(document, ensure_ascii=False))
    elif report.ok:
        click.echo(report.render())
        if not heads:
            click.echo(
                "nota: sin --head ni --published no se detecta una bitácora recortada con la "
                "cabeza reemplazada en la base; compare con una cabeza publicada.",
            )
    else:
        click.echo(report.render(), err=True)
        click.echo(
            "Qué hacer: conserve una copia de la base tal como está, compárela con la última "
            "cabeza publicada y avise al responsable de seguridad.",
            err=True,
        )
    ctx.exit(0 if report.ok else 1)


def _noting_lists(entries: Iterator[AuditEntry], listed: list[ListedRead]) -> Iterator[AuditEntry]:
    """``entries`` unchanged; each list read among them (``people_sha256``) noted in ``listed``."""
    for entry in entries:
        digest = entry.details.get("people_sha256")
        if digest is not None and entry.action == Action.PERSONAL_DATA_READ:
            count = entry.details.get("people", "")
            people = int(count) if count.isdigit() else None
            listed.append(ListedRead(entry.sequence, people, digest))
        yield entry


def _head_document(head: ChainHead, key: str | None) -> dict[str, Any]:
    """A head as `sisi audit head --json` writes it (what --head reads back)."""
    return {
        "sequence": head.sequence,
        "entry_hash": head.entry_hash.hex(),
        "signature": base64.b64encode(head.signature).decode("ascii"),
        "recorded_at": head.at.isoformat().replace("+00:00", "Z") if head.at else None,
        "key_id": key,
    }


@audit.command("published")
@click.option(
    "--public-key",
    default=None,
    metavar="ed25519:...",
    help="Llave pública del hub, como la publica (por omisión, <SISI_DATA_DIR>/keys/hub.pub).",
)
@click.option(
    "--save",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    metavar="DIRECTORIO",
    help="Guarda cada cabeza válida como cabeza-<secuencia>.json (para `sisi audit verify "
    "--head DIRECTORIO`); una ya guardada con otro hash es una bitácora reescrita.",
)
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
@click.pass_context
def published_command(
    ctx: click.Context, public_key: str | None, save: Path | None, as_json: bool
) -> None:
    """Revisa las cabezas publicadas en el tópico público sin acceso a la base del hub.

    Para quien vigila desde fuera: sólo necesita el tópico (SISI_BOOTSTRAP_SERVERS) y la llave
    pública del hub. Comprueba que cada cabeza esté firmada por el hub y que no haya dos
    distintas para una misma entrada (eso prueba que la bitácora se reescribió), y con --save
    las conserva: el tópico no guarda todo para siempre, y con esas copias quien tenga acceso a
    la base verifica después con `sisi audit verify --head DIRECTORIO` que la bitácora las
    contiene todas. Sale con 0 si todo está en orden, 1 si no y 2 si no pudo leer el tópico.
    """
    settings = Settings()
    key = _public_key(settings, public_key)
    fingerprint = key_id(public_key_to_str(key))
    on_topic = _topic_heads(settings, None)
    good = [item for item in on_topic if _signed_by(key, item)]
    problems: list[str] = []
    forged = len(on_topic) - len(good)
    if forged:
        problems.append(
            f"{forged} de las {len(on_topic)} cabezas del tópico no están firmadas por la llave "
            f"del hub ({fingerprint}): alguien más publica en el tópico"
        )
    known: dict[int, _Published] = {}
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
        for item in _saved_heads(save) if any(save.glob("*.json")) else []:
            if _signed_by(key, item):
                known.setdefault(item.head.sequence, item)
    for item in sorted(good, key=lambda item: item.head.sequence):
        seen = known.get(item.head.sequence)
        if seen is None:
            known[item.head.sequence] = item
            if save is not None:
                document = _head_document(item.head, fingerprint)
                path = save / f"cabeza-{item.head.sequence:012d}.json"
                path.write_text(json.dumps(document, ensure_ascii=False) + "\n", encoding="utf-8")
        elif seen.head.entry_hash != item.head.entry_hash:
            problems.append(
                f"hay dos cabezas firmadas por el hub para la entrada {item.head.sequence} con "
                f"hashes distintos ({seen.head.entry_hash.hex()[:16]}… en {seen.source} y "
                f"{item.head.entry_hash.hex()[:16]}… en {item.source}): la bitácora se reescribió"
            )
    newest = max(good, key=lambda item: item.head.sequence, default=None)
    if as_json:
        document = {
            "ok": not problems,
            "key_id": fingerprint,
            "heads": len(on_topic),
            "valid": len(good),
            "first_sequence": min((i.head.sequence for i in good), default=None),
            "last_sequence": newest.head.sequence if newest else None,
            "last_hash": newest.head.entry_hash.hex() if newest else None,
            "problems": problems,
            "saved_in": str(save) if save is not None else None,
        }
        click.echo(json.dumps(document, ensure_ascii=False))
    else:
        if newest is not None:
            first = min(item.head.sequence for item in good)
            click.echo(
                f"{len(good)} cabezas publicadas firmadas por el hub ({fingerprint}), de la "
                f"entrada {first} a la {newest.head.sequence}; la más reciente: "
                f"{newest.head.sequence} (hash {newest.head.entry_hash.hex()})"
            )
        if save is not None:
            click.echo(
                f"cabezas guardadas en {save} (verifique con `sisi audit verify --head {save}`)"
            )
        for problem in problems:
            click.echo(f"problema: {problem}", err=True)
    ctx.exit(1 if problems else 0)


@audit.command("head")
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
def head_command(as_json: bool) -> None:
    """Muestra la cabeza de la cadena (última entrada, hash y firma) para publicarla."""
    settings = Settings()
    with _reading_log(settings) as engine, engine.connect() as conn:
        head = read_head(conn)
    try:
        fingerprint: str | None = key_id(public_key_to_str(load_hub_public_key(settings)))
    except ConfigurationError:
        fingerprint = None
    document = _head_document(head, fingerprint)
    if as_json:
        click.echo(json.dumps(document, ensure_ascii=False))
        return
    if head.is_empty:
        click.echo("la bitácora está vacía (secuencia 0)")
        return
    click.echo(f"secuencia:  {document['sequence']}")
    click.echo(f"hash:       {document['entry_hash']}")
    click.echo(f"firma:      {document['signature']}")
    click.echo(f"registrada: {document['recorded_at']}")
    click.echo(f"llave:      {fingerprint or 'desconocida (falta hub.pub)'}")


def _summary(entry: AuditEntry) -> str:
    """What an entry says, in a few words."""
    details = entry.details
    if entry.action == Action.AGREEMENT_CHANGED and "change" in details:
        text = f"{details['change']} de {details.get('file', '?')}"
        if "status" in details:
            text += (
                f", estado {details['status']}, vigencia {details.get('valid_from', '?')} a "
                f"{details.get('valid_until', '?')}"
            )
        return text + f" (sha256 {details.get('sha256', '')[:12]})"
    if entry.action in (Action.CONTRACT_REGISTERED, Action.CONTRACT_DELETED) and (
        "subject" in details
    ):
        text = (
            f"{details['subject']} versión {details.get('version', '?')} "
            f"(id {details.get('schema_id', '?')}, sha256 {details.get('sha256', '')[:12]})"
        )
        if entry.action == Action.CONTRACT_DELETED:
            text = f"baja {details.get('deletion', '?')} de {text}"
        return text
    parts = [
        f"mensaje {entry.message_id}" if entry.message_id else "",
        f"elemento {entry.reference_id}" if entry.reference_id else "",
        f"finalidad «{entry.purpose}»" if entry.purpose else "",
        *(f"{_DETAIL_LABELS.get(key, key)}={value}" for key, value in sorted(details.items())),
    ]
    return " ".join(part for part in parts if part)


#: Spanish names of the details' keys, for the text listing (the entries keep theirs: hashed).
_DETAIL_LABELS: Final = {
    "operation": "operación",
    "command": "comando",
    "subject": "sujeto",
    "people": "personas",
    "people_sha256": "huella_personas",
    "payments": "pagos",
    "reason_code": "motivo",
    "field": "campo",
    "authenticated": "autenticado",
    "agreement_id": "convenio",
    "message_id": "mensaje",
    "count": "cantidad",
}


def _document(entry: AuditEntry) -> dict[str, Any]:
    document = entry_to_record(entry)
    del document["prev_hash"], document["signature"]
    document["recorded_at"] = entry.recorded_at.isoformat().replace("+00:00", "Z")
    document["entry_hash"] = entry.entry_hash.hex()
    document["signed"] = entry.is_signed
    return document


@audit.command("list")
@click.option(
    "--action",
    type=click.Choice([action.value for action in Action], case_sensitive=False),
    # click lists case-insensitive choices in lower case; the log (and the README) say them in
    # upper case
    metavar="[" + "|".join(action.value for action in Action) + "]",
    default=None,
    help="Sólo esta acción (p. ej. AGREEMENT_CHANGED, CONTRACT_REGISTERED).",
)
@click.option("--agreement", default=None, help="Sólo este convenio.")
@click.option("--limit", type=click.IntRange(1, 100000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
def list_command(action: str | None, agreement: str | None, limit: int, as_json: bool) -> None:
    """Las últimas entradas de la bitácora, en orden de secuencia."""
    with _reading_log(Settings()) as engine:
        entries = recent_entries(
            engine,
            action=action.upper() if action else None,
            agreement_id=agreement,
            limit=limit,
        )
    if as_json:
        click.echo(json.dumps([_document(e) for e in entries], ensure_ascii=False))
        return
    if not entries:
        click.echo("no hay entradas que mostrar.")
        return
    for entry in entries:
        click.echo(
            f"{entry.sequence:>8}  {entry.recorded_at:%Y-%m-%d %H:%M:%S}Z  {entry.actor}  "
            f"{entry.action}  {entry.agreement_id or '—'}  {_summary(entry)}"
        )


_HOW = {
    "persona": "consulta de la persona",
    "lista": "lista",
    "curp": "consulta de su CURP sin coincidencia en el registro",
}


def _read_document(entry: AuditEntry, how: str) -> dict[str, Any]:
    details = entry.details
    people = details.get("people", "")
    return {
        "sequence": entry.sequence,
        "recorded_at": entry.recorded_at.isoformat().replace("+00:00", "Z"),
        "actor": entry.actor,
        "purpose": entry.purpose,
        "command": details.get("command"),
        "subject": details.get("subject"),
        "agreement_id": entry.agreement_id,
        "how": how,
        "people": int(people) if people.isdigit() else None,
    }


def _read_line(read: Mapping[str, Any]) -> str:
    what = read["command"] or "consulta"
    if read["how"] == "lista":
        count = read["people"]
        listed = (
            "lista de personas"
            if count is None
            else f"lista de {count} persona" + ("" if count == 1 else "s")
        )
        what += f" {read['subject']} ({listed})"
    else:
        what += f" ({_HOW[read['how']]})"
    moment = read["recorded_at"].replace("T", " ")
    return (
        f"  entrada {read['sequence']:>8}  {moment}  {read['actor']}  {what}  "
        f"finalidad «{read['purpose']}»"
    )


@audit.command("reads")
@click.argument("curp")
@click.option(
    "--purpose",
    required=True,
    help="Finalidad de la consulta, p. ej. «solicitud ARCO 118» (queda en la bitácora).",
)
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
def reads_command(curp: str, purpose: str, as_json: bool) -> None:
    """Quién leyó los datos de la persona con CURP (solicitud ARCO): cada lectura registrada.

    Lista las entradas PERSONAL_DATA_READ que leyeron a esa persona: consultas de la persona
    (`sisi registry person`), listas que la mostraron (`sisi registry enrolled` y `paid`) y
    búsquedas de su CURP que no la encontraron; con cuándo, quién, para qué y qué comando. Esta
    consulta también lee datos personales: queda en la bitácora y aparece al final de la lista.
    Las listas registradas antes de la migración 0009 sólo guardan cuántas personas mostraron y
    no aparecen aquí.
    """
    purpose = checked_purpose(purpose)
    curp = checked_curp(curp)
    settings = Settings()
    engine = open_registry(settings, ["people", "audit_log", "audit_read_subjects"])
    try:
        report = person_by_curp(engine, curp)
        hub_key = load_or_create_hub_key(settings)
        log = AuditLog(engine, hub_key)
        digest = curp_digest(hub_key, curp)
        person_id = None if report is None else str(report.person["id"])
        if person_id is None:  # recorded as `registry person` records an unknown CURP
            details = {"command": "audit reads", "curp_hmac": digest}
            entry = log.read_personal(operator(), purpose, "sin-coincidencia", details)
        else:
            entry = log.read_personal(operator(), purpose, person_id, {"command": "audit reads"})
        reads = [_read_document(e, how) for e, how in personal_reads(engine, person_id, digest)]
    except SQLAlchemyError as exc:
        raise ConfigurationError(
            f"falló la consulta de la bitácora ({type(exc).__name__})",
            hint="revise que la base de datos esté disponible y vuelva a intentar",
        ) from exc
    finally:
        engine.dispose()
    if as_json:
        document = {
            "curp": curp,
            "in_registry": person_id is not None,
            "person_id": person_id,
            "count": len(reads),
            "reads": reads,
            "audit_sequence": entry.sequence,
        }
        click.echo(json.dumps(document, ensure_ascii=False))
    else:
        if person_id is None:
            click.echo(
                f"no hay en el registro una persona con la CURP {curp}; búsquedas registradas de "
                f"esa CURP: {len(reads)}"
            )
        else:
            noun = "lectura registrada" if len(reads) == 1 else "lecturas registradas"
            click.echo(
                f"datos personales de {curp} (persona {person_id} del registro): {len(reads)} "
                f"{noun}"
            )
        for read in reads:
            click.echo(_read_line(read))
    click.echo(
        f"consulta registrada en la bitácora (entrada {entry.sequence}). Para confirmar que la "
        "bitácora no fue alterada: `sisi audit verify`.",
        err=True,
    )
