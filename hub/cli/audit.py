"""``sisi audit``: verify the hub's hash-chained audit log, show its head and its latest entries,
answer a person's "who read my data" (``reads``), and rotate the hub's key (``rotate-key``,
``keys``)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import click
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from hub.agreements.keys import key_id, public_key_to_str
from hub.audit.chain import Action, AuditEntry, ChainHead
from hub.audit.findings import HeadRefusal
from hub.audit.headcheck import FORM_TEXT
from hub.audit.headfile import head_document, read_head_file
from hub.audit.headsig import HeadForm, head_form
from hub.audit.keyring import KeyRecord, keyring_path, read_keyring
from hub.audit.keys import load_hub_public_key, load_or_create_hub_key
from hub.audit.pseudonym import curp_digest
from hub.audit.publish import (
    CHAIN_HEAD_SUBJECT,
    entry_to_record,
    head_from_record,
    read_published_heads,
)
from hub.audit.rotation import rotate_hub_key
from hub.audit.store import (
    AuditLog,
    iter_entries,
    iter_read_subjects,
    mismatched_key,
    personal_reads,
    read_head,
    recent_entries,
)
from hub.audit.trust import (
    TrustedKeys,
    current_log_id,
    head_signer,
    history_of_log,
    history_problems,
    hub_keys_for,
    key_period_problem,
    trusted_keys,
    with_log_keys,
)
from hub.audit.verify import ListedRead, Problem, verify_chain, verify_read_subjects
from hub.cli.local_state import DataDirInUseError, hold_data_dir
from hub.cli.registry import checked_curp, checked_purpose, open_registry, operator
from hub.contracts.schema_text import ParsedSchema
from hub.db import make_engine
from hub.errors import ConfigurationError, SisiError
from hub.gatekeeper.schemas import StoreSchemas
from hub.registry.queries import person_by_curp
from hub.settings import Settings
from hub.topics import PUBLIC_AUDIT_HEAD

__all__ = [
    "audit",
    "head_command",
    "keys_command",
    "list_command",
    "published_command",
    "reads_command",
    "rotate_key_command",
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


@click.group()
def audit() -> None:
    """Bitácora de auditoría: encadenada por hash y firmada por el hub."""


def _schema_resolvers(engine: Engine | None, settings: Settings) -> list[Any]:
    """Writer schemas from the hub's registry, then each local AuditChainHead version, newest
    first (an outside checker has no access to the hub's database: a head reads whole only with
    the version it was written with, so each is tried)."""
    import fastavro

    local = sorted(
        (Path(settings.schemas_dir) / CHAIN_HEAD_SUBJECT).glob("v*.avsc"),
        key=lambda file: int(file.stem[1:]) if file.stem[1:].isdigit() else 0,
        reverse=True,
    )
    resolvers: list[Any] = []
    if engine is not None:
        store = StoreSchemas(engine)

        def registered(schema_id: int) -> ParsedSchema:
            try:
                return store.resolve(schema_id).parsed
            except SQLAlchemyError as exc:
                raise KeyError(schema_id) from exc

        resolvers.append(registered)
    for file in local:
        parsed: ParsedSchema = fastavro.parse_schema(json.loads(file.read_text(encoding="utf-8")))
        resolvers.append(lambda _schema_id, parsed=parsed: parsed)
    return resolvers


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
            servers, PUBLIC_AUDIT_HEAD, _schema_resolvers(engine, settings)
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
        head, key = read_head_file(file)
        heads.append(_Published(head, key, str(file)))
    return heads


def _signer(keys: TrustedKeys, item: _Published) -> str | None:
    """The id of the known hub key that signed ``item`` (see :func:`head_signer`)."""
    if item.head.sequence == 0:
        return item.key_id or ""
    return head_signer(keys, item.head, item.key_id)


def _unknown_key(keys: TrustedKeys, item: _Published) -> None:
    """Exit 2 when a saved head names a key the verifier does not know at all."""
    if item.key_id is not None and keys.by_id(item.key_id) is None:
        raise ConfigurationError(
            f"la cabeza publicada está firmada con la llave {item.key_id} y se verifica con "
            f"la(s) llave(s) {', '.join(keys.ids)}",
            path=item.source,
            field="key_id",
            hint="indique con --public-key la llave pública del hub que firmó esa cabeza (puede "
            "repetirse, una por cada llave que el hub tuvo)",
        )


_PUBLIC_KEY_HELP = (
    "Llave pública del hub, como la publicó; puede repetirse, una por cada llave que el hub "
    "tuvo. Con --public-key sólo se confía en las indicadas (y, en verify, en las que nombran "
    "las rotaciones de la propia bitácora), nunca en las de <SISI_DATA_DIR>/keys; sin ella, en "
    "las de <SISI_DATA_DIR>/keys/hub-keys.jsonl y hub.pub."
)


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
@click.option(
    "--public-key", "public_keys", multiple=True, metavar="ed25519:...", help=_PUBLIC_KEY_HELP
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
    public_keys: tuple[str, ...],
    head_paths: tuple[Path, ...],
    published: bool,
) -> None:
    """Verifica toda la bitácora: sale con 0 si está íntegra y 1 si fue alterada.

    Cada lote se verifica con la llave del hub en vigor en ese punto de la cadena: si la llave
    se rotó (`sisi audit rotate-key`), la rotación es una entrada de la bitácora firmada por la
    llave anterior que nombra la nueva. Sin --head ni --published sólo se compara con la cabeza
    guardada en la misma base, que quien pueda escribir en ella puede retroceder: una bitácora
    recortada y con la cabeza reemplazada sólo se detecta contra una cabeza publicada. Con
    --published se revisan todas las cabezas del tópico, no sólo la última: si la bitácora se
    recortó y luego siguió creciendo, las cabezas nuevas describen la cadena nueva, pero las
    anteriores no están en ella. Una cabeza de forma antigua (v1) sólo tiene firmado el hash:
    su número de secuencia lo confirma la bitácora, no la firma.
    """
    if head_paths and published:
        raise click.UsageError("use --head o --published, no ambas")
    settings = Settings()
    keys = trusted_keys(settings, public_keys)
    heads: list[_Published] = [item for path in head_paths for item in _saved_heads(path)]
    ignored: list[_Published] = []
    notes: list[str] = []
    with _reading_log(settings) as engine:
        keys = with_log_keys(engine, keys)
        for item in heads:
            _unknown_key(keys, item)
        if published:  # read before the log, which can only have grown meanwhile
            on_topic = _topic_heads(settings, engine)
            heads = [item for item in on_topic if _signer(keys, item) is not None]
            ignored = [item for item in on_topic if item not in heads]
            if not heads:
                other = on_topic[-1]
                raise ConfigurationError(
                    f"ninguna de las {len(on_topic)} cabezas del tópico está firmada con una "
                    f"llave del hub ({', '.join(keys.ids)}; la última dice {other.key_id})",
                    path=PUBLIC_AUDIT_HEAD,
                    field="key_id",
                    hint="indique con --public-key la llave pública del hub que firmó esas cabezas",
                )
        with engine.connect() as conn:
            head = read_head(conn)
        listed: list[ListedRead] = []
        report = verify_chain(
            _noting_lists(iter_entries(engine), listed),
            hub_keys_for(engine, keys, head),
            expected_head=head,
            published_heads=[item.head for item in heads],
        )
        # a saved head given as evidence must be evidence: one refused (altered, relabelled) is
        # reported as the altered head file it is, and the log is not blamed for it
        altered = [] if published else _altered_heads(report.refused_heads, heads)
        if report.ok:
            broken, notes = history_problems(report, keys.history, engine)
            if broken is not None:
                report = dataclasses.replace(
                    report,
                    first_bad_sequence=broken.sequence,
                    problem=broken.problem,
                    reason=broken.reason,
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
            f"están firmados por una llave del hub ({', '.join(keys.ids)}) o fueron alterados "
            "después de firmarse; alguien más publica en él (revise `sisi audit published`)",
            err=True,
        )
    if published:
        for refused in report.refused_heads:
            click.echo(f"aviso: se ignoró una cabeza del tópico: {refused.reason}", err=True)
    for note in notes:
        click.echo(f"aviso: {note}", err=True)
    if as_json:
        document: dict[str, Any] = report.to_dict()
        document["ok"] = report.ok and not altered
        document["altered_heads"] = altered
        document["key_id"] = report.keys[-1][1] if report.keys else keys.ids[-1]
        document["trusted_key_ids"] = keys.ids
        document["ignored_published"] = len(ignored)
        click.echo(json.dumps(document, ensure_ascii=False))
    elif report.ok and altered:
        click.echo(report.render())
        for saved in altered:
            click.echo(
                f"cabeza publicada alterada en {saved['source']} (entrada {saved['sequence']}): "
                f"{saved['reason']}",
                err=True,
            )
        click.echo(
            "Qué hacer: esa copia de la cabeza no sirve de prueba y la bitácora no se comparó con "
            "ella; consiga otra copia (el tópico con `sisi audit published --save DIRECTORIO`, o "
            "quien la guardó) y verifique con ella. Si la copia estaba bajo su custodia, alguien "
            "la modificó: avise al responsable de seguridad.",
            err=True,
        )
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
    ctx.exit(0 if report.ok and not altered else 1)


def _altered_heads(
    refused: tuple[HeadRefusal, ...], heads: list[_Published]
) -> list[dict[str, Any]]:
    """The saved heads refused as evidence, each with the file it came from."""
    altered = []
    for refusal in refused:
        source = next(
            (item.source for item in heads if item.head.sequence == refusal.sequence), "?"
        )
        altered.append({"sequence": refusal.sequence, "source": source, "reason": refusal.reason})
    return altered


def _noting_lists(entries: Iterator[AuditEntry], listed: list[ListedRead]) -> Iterator[AuditEntry]:
    """``entries`` unchanged; each list read among them (``people_sha256``) noted in ``listed``."""
    for entry in entries:
        digest = entry.details.get("people_sha256")
        if digest is not None and entry.action == Action.PERSONAL_DATA_READ:
            count = entry.details.get("people", "")
            people = int(count) if count.isdigit() else None
            listed.append(ListedRead(entry.sequence, people, digest))
        yield entry


@audit.command("published")
@click.option(
    "--public-key", "public_keys", multiple=True, metavar="ed25519:...", help=_PUBLIC_KEY_HELP
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
    ctx: click.Context, public_keys: tuple[str, ...], save: Path | None, as_json: bool
) -> None:
    """Revisa las cabezas publicadas en el tópico público sin acceso a la base del hub.

    Para quien vigila desde fuera: sólo necesita el tópico (SISI_BOOTSTRAP_SERVERS) y las llaves
    públicas del hub. Comprueba que cada cabeza esté firmada por el hub y que no haya dos
    distintas para una misma entrada (eso prueba que la bitácora se reescribió), y con --save
    las conserva: el tópico no guarda todo para siempre, y con esas copias quien tenga acceso a
    la base verifica después con `sisi audit verify --head DIRECTORIO` que la bitácora las
    contiene todas. Una cabeza de forma v2 tiene firmados su secuencia, hash, hora y llave; una
    de forma antigua (v1) sólo su hash, así que su secuencia la confirma sólo la bitácora. Sale
    con 0 si todo está en orden, 1 si no y 2 si no pudo leer el tópico.
    """
    settings = Settings()
    keys = trusted_keys(settings, public_keys)
    on_topic = _topic_heads(settings, None)
    signers = {id(item): _signer(keys, item) for item in on_topic}
    good = [item for item in on_topic if signers[id(item)] is not None]
    problems: list[str] = []
    forged = len(on_topic) - len(good)
    if forged:
        problems.append(
            f"{forged} de las {len(on_topic)} cabezas del tópico no están firmadas por una llave "
            f"del hub ({', '.join(keys.ids)}) o fueron alteradas después de firmarse (una cabeza "
            "v2 con otra secuencia, hora o llave): alguien más publica en el tópico"
        )
    history = _history_of_current_log(settings, keys)
    for item in good:
        period = key_period_problem(history, signers[id(item)] or "", item.head)
        if period is not None:
            problems.append(period)
    problems += _conflicts(good)
    known: dict[int, _Published] = {}
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
        for item in _saved_heads(save) if any(save.glob("*.json")) else []:
            if _signer(keys, item) is not None:
                known.setdefault(item.head.sequence, item)
    # a head whose sequence is signed (v2) first: it is the better copy of an entry
    ordered = sorted(good, key=lambda item: (item.head.sequence, item.head.head_signature is None))
    for item in ordered:
        seen = known.get(item.head.sequence)
        if seen is None:
            known[item.head.sequence] = item
            if save is not None:
                document = head_document(item.head, signers[id(item)])
                path = save / f"cabeza-{item.head.sequence:012d}.json"
                path.write_text(json.dumps(document, ensure_ascii=False) + "\n", encoding="utf-8")
        elif seen.source != PUBLIC_AUDIT_HEAD and seen.head.entry_hash != item.head.entry_hash:
            problems.append(_conflict_text(seen, item))
    newest = max(good, key=lambda item: item.head.sequence, default=None)
    old_form = sum(item.head.head_signature is None for item in good)
    signer_ids = sorted({signers[id(item)] or "" for item in good})
    if as_json:
        document = {
            "ok": not problems,
            "key_id": signer_ids[-1] if len(signer_ids) == 1 else None,
            "key_ids": signer_ids,
            "heads": len(on_topic),
            "valid": len(good),
            "valid_v2": len(good) - old_form,
            "valid_old_form": old_form,
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
            noun = "cabeza publicada firmada" if len(good) == 1 else "cabezas publicadas firmadas"
            click.echo(
                f"{len(good)} {noun} por el hub ({', '.join(signer_ids)}), "
                f"de la entrada {first} a la {newest.head.sequence}; la más reciente: "
                f"{newest.head.sequence} (hash {newest.head.entry_hash.hex()})"
            )
            click.echo(f"  {len(good) - old_form} de forma v2 ({FORM_TEXT[HeadForm.SIGNED_HEAD]})")
            if old_form:
                click.echo(
                    f"  {old_form} de {FORM_TEXT[HeadForm.HASH_ONLY]}: prueban que el hub firmó "
                    "ese hash; que sea el de esa entrada sólo lo confirma la bitácora (`sisi audit "
                    "verify --head`)"
                )
        if save is not None:
            click.echo(
                f"cabezas guardadas en {save} (verifique con `sisi audit verify --head {save}`)"
            )
        for problem in problems:
            click.echo(f"problema: {problem}", err=True)
    ctx.exit(1 if problems else 0)


def _current_log_id(settings: Settings) -> tuple[bool, str | None]:
    """(whether the hub's log could be read, the hash of its entry 1) for a command that does not
    need the database; a SQLite file that does not exist is not created."""
    url = settings.resolved_database_url()
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return False, None
    try:
        with _reading_log(settings) as engine:
            return True, current_log_id(engine)
    except ConfigurationError:
        return False, None


def _history_of_current_log(settings: Settings, keys: TrustedKeys) -> list[KeyRecord]:
    """The key history that judges which key may sign which head (:func:`key_period_problem`).

    With --public-key none: the checker trusts what it gave, not the local data directory. Else
    the records of the hub's current log when its database can be read (after `sisi up --reset`
    the history of the old log says nothing of the new one), else the history as it is.
    """
    if keys.given or not keys.history:
        return []
    readable, log_id = _current_log_id(settings)
    if not readable:
        return list(keys.history)
    return history_of_log(keys.history, log_id) if log_id is not None else []


def _conflict_text(one: _Published, other: _Published) -> str:
    """Two valid heads for one entry with different hashes, told by what their forms prove."""
    sequence = one.head.sequence
    where = (
        f"({one.head.entry_hash.hex()[:16]}… en {one.source} y "
        f"{other.head.entry_hash.hex()[:16]}… en {other.source})"
    )
    if one.head.head_signature is not None and other.head.head_signature is not None:
        return (
            f"hay dos cabezas firmadas por el hub para la entrada {sequence} con hashes distintos "
            f"{where}: la bitácora se reescribió"
        )
    return (
        f"hay dos cabezas para la entrada {sequence} con hashes distintos {where}, y al menos una "
        f"es de {FORM_TEXT[HeadForm.HASH_ONLY]}: puede ser una cabeza a la que le cambiaron la "
        "secuencia o una bitácora reescrita; compruébelo con `sisi audit verify --head`"
    )


def _conflicts(heads: list[_Published]) -> list[str]:
    """Heads of the topic that contradict each other (see :func:`_conflict_text`), and old-form
    heads carrying the hash a signed head puts at another sequence (relabelled)."""
    problems: list[str] = []
    first: dict[int, _Published] = {}
    signed_at: dict[bytes, int] = {
        item.head.entry_hash: item.head.sequence
        for item in heads
        if item.head.head_signature is not None
    }
    ordered = sorted(heads, key=lambda item: (item.head.sequence, item.head.head_signature is None))
    for item in ordered:
        seen = first.setdefault(item.head.sequence, item)
        if seen is not item and seen.head.entry_hash != item.head.entry_hash:
            problems.append(_conflict_text(seen, item))
        elsewhere = signed_at.get(item.head.entry_hash)
        if (
            item.head.head_signature is None
            and elsewhere is not None
            and elsewhere != item.head.sequence
        ):
            problems.append(
                f"una cabeza de {FORM_TEXT[HeadForm.HASH_ONLY]} dice la entrada "
                f"{item.head.sequence}, pero el hub firmó ese hash como la entrada {elsewhere} "
                "(en una cabeza v2): alguien le cambió la secuencia"
            )
    return problems


@audit.command("head")
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
def head_command(as_json: bool) -> None:
    """Muestra la cabeza de la cadena (última entrada, hash y firmas) para publicarla."""
    settings = Settings()
    with _reading_log(settings) as engine, engine.connect() as conn:
        head = read_head(conn)
    try:
        fingerprint: str | None = key_id(public_key_to_str(load_hub_public_key(settings)))
    except ConfigurationError:
        fingerprint = None
    document = head_document(head, fingerprint)
    if as_json:
        click.echo(json.dumps(document, ensure_ascii=False))
        return
    if head.is_empty:
        click.echo("la bitácora está vacía (secuencia 0)")
        return
    form = head_form(head)
    click.echo(f"secuencia:  {document['sequence']}")
    click.echo(f"hash:       {document['entry_hash']}")
    click.echo(f"firma:      {document['signature']} (del lote: cubre sólo el hash)")
    if document["head_signature"] is not None:
        click.echo(f"firma cab.: {document['head_signature']}")
    click.echo(f"registrada: {document['recorded_at']}")
    click.echo(f"llave:      {document['key_id'] or 'desconocida (falta hub.pub)'}")
    click.echo(f"forma:      {form.value} ({FORM_TEXT[form]})")


@audit.command("rotate-key")
@click.option(
    "--motivo",
    "reason",
    required=True,
    help="Por qué se rota la llave (queda en la bitácora), p. ej. «rotación anual».",
)
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
def rotate_key_command(reason: str, as_json: bool) -> None:
    """Rota la llave del hub sin dejar la bitácora anterior sin verificar.

    Crea una llave nueva y registra la rotación en la propia bitácora: una entrada
    HUB_KEY_ROTATED, firmada con la llave que se retira, que nombra las dos llaves públicas (la
    cadena de custodia queda probada). Instala la llave nueva en <SISI_DATA_DIR>/keys/hub.key y
    hub.pub, agrega la llave a keys/hub-keys.jsonl, conserva la pública retirada en
    keys/retired/ y borra la privada retirada. `sisi audit verify` verifica cada lote con la
    llave en vigor en ese punto. Detenga antes el hub (`sisi up`): un proceso que siga con la
    llave retirada ya no puede registrar nada. Sale con 0 si rotó, 2 si no pudo.
    """
    settings = Settings()
    try:
        with hold_data_dir(settings.data_dir), _reading_log(settings) as engine:
            rotation = rotate_hub_key(settings, engine, actor=operator(), reason=reason)
    except DataDirInUseError as exc:
        raise ConfigurationError(
            "el hub está en marcha sobre esta carpeta de datos: sus procesos seguirían firmando "
            "con la llave retirada y la bitácora se lo impediría (no registrarían nada)",
            path=settings.data_dir,
            hint="detenga `sisi up` (Ctrl-C), rote la llave y vuelva a arrancarlo",
        ) from exc
    if as_json:
        document = {
            "sequence": rotation.sequence,
            "old_key_id": rotation.old_key_id,
            "new_key_id": rotation.new_key_id,
            "new_public_key": rotation.new_public_key,
            "recorded_at": rotation.recorded_at.isoformat().replace("+00:00", "Z"),
            "resumed": rotation.resumed,
        }
        click.echo(json.dumps(document, ensure_ascii=False))
        return
    if rotation.resumed:
        click.echo(
            f"se terminó de instalar la rotación interrumpida de la entrada {rotation.sequence}"
        )
    click.echo(
        f"llave del hub rotada: {rotation.old_key_id} → {rotation.new_key_id} (entrada "
        f"{rotation.sequence} de la bitácora, firmada con la llave retirada)"
    )
    click.echo(f"llave pública nueva: {rotation.new_public_key}")
    click.echo(
        "Qué hacer: publique la llave nueva junto a las anteriores (`sisi audit keys`), reinicie "
        "los procesos del hub que sigan en marcha y verifique con `sisi audit verify`."
    )


@audit.command("keys")
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
def keys_command(as_json: bool) -> None:
    """Las llaves que el hub ha usado, de la primera a la actual, y desde qué entrada firma cada
    una.

    Es lo que necesita quien verifica desde fuera: cada llave pública (para `--public-key`) y
    dónde empezó. Sale de <SISI_DATA_DIR>/keys/hub-keys.jsonl (sólo las llaves de la bitácora
    actual: tras `sisi up --reset` la llave del hub firma la bitácora nueva desde la entrada 1);
    sin rotaciones, sólo hub.pub.
    """
    settings = Settings()
    recorded = list(read_keyring(keyring_path(settings)))
    readable, log_id = _current_log_id(settings) if recorded else (False, None)
    history = recorded
    if readable:  # only the current log's keys: `sisi up --reset` starts a new log, keeps keys/
        history = history_of_log(recorded, log_id) if log_id is not None else []
    earlier = [record for record in recorded if record not in history]
    if not history:
        key = load_hub_public_key(settings)
        history = [KeyRecord(public_key_to_str(key), key_id(public_key_to_str(key)))]
    if earlier:
        click.echo(
            f"nota: keys/hub-keys.jsonl también registra {len(earlier)} llave(s) de otra "
            "bitácora (anterior a un `sisi up --reset`, que empieza una bitácora nueva y conserva "
            "keys/): no firman la bitácora actual y no se muestran aquí ("
            + ", ".join(record.key_id for record in earlier)
            + ")",
            err=True,
        )
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in history], ensure_ascii=False))
        return
    for index, record in enumerate(history):
        current = "  (actual)" if index == len(history) - 1 else ""
        since = (
            "desde el inicio"
            if record.rotation_sequence is None
            else f"desde la entrada {record.first_sequence} (rotación en la entrada "
            f"{record.rotation_sequence}, {record.rotated_at})"
        )
        click.echo(f"{record.key_id}  {record.public_key}  {since}{current}")


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
    if entry.action == Action.HUB_KEY_ROTATED:
        return (
            f"rotación de la llave del hub {details.get('previous_key_id', '?')} → "
            f"{details.get('new_key_id', '?')} (llave nueva {details.get('new_public_key', '?')}),"
            f" motivo «{entry.purpose or ''}»"
        )
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
    "shown": "mostradas",
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
    # ``shown``: the people a list showed; ``people``: the rows naming them (an id and, for a
    # person with a CURP, its digest), what lists recorded before ``shown`` existed
    people = details.get("shown", details.get("people", ""))
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
