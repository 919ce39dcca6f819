"""Parse, canonicalize and fingerprint Avro schema text, with errors that say where."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import fastavro

from hub.errors import ContractError

__all__ = [
    "ParsedSchema",
    "canonical_text",
    "fingerprint",
    "full_name",
    "load_definition",
    "parse_schema",
    "to_apache",
]

#: What fastavro returns from ``parse_schema`` (a dict, list or str with resolved names).
ParsedSchema = Any


def load_definition(text: str, *, path: Path | str | None = None) -> Any:
    """The JSON of a schema; malformed JSON raises ``ContractError`` with its line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError(
            f"el esquema no es JSON válido: {exc.msg} (columna {exc.colno})",
            path=path,
            line=exc.lineno,
            hint="corrija la sintaxis JSON (comas, comillas, llaves) en esa línea.",
        ) from exc


def _line_of(text: str, needle: str | None) -> int | None:
    """First line of ``text`` that mentions ``needle`` as a JSON string, to point at a mistake."""
    if not needle:
        return None
    for number, line in enumerate(text.splitlines(), start=1):
        if f'"{needle}"' in line:
            return number
    return None


def parse_schema(
    definition: Any, *, text: str | None = None, path: Path | str | None = None
) -> ParsedSchema:
    """Parse with fastavro and with Apache ``avro``; an invalid schema raises ``ContractError``."""
    try:
        parsed = fastavro.parse_schema(definition)
        to_apache(definition)
    except ContractError:
        raise
    except Exception as exc:  # both libraries raise many unrelated types for a bad schema
        detail = str(exc) or type(exc).__name__
        line = None
        for token in re.findall(r"[A-Za-z_][\w.]*", detail):
            line = _line_of(text or "", token) or _line_of(text or "", token.rsplit(".", 1)[-1])
            if line is not None:
                break
        raise ContractError(
            f"esquema Avro inválido: {detail}",
            path=path,
            line=line,
            hint="revise tipos, nombres y valores por omisión (especificación Avro 1.12).",
        ) from exc
    return parsed


def to_apache(definition: Any) -> Any:
    """The schema as an Apache ``avro`` object (what the compatibility checker needs)."""
    import avro.schema

    return avro.schema.parse(json.dumps(definition))


def canonical_text(definition: Any) -> str:
    """Compact JSON with sorted object keys: the same schema always gives the same text.

    Field order, docs and defaults are kept (they are part of the contract); only whitespace and
    key order are normalized, so a client sending the same schema formatted differently matches.
    """
    if isinstance(definition, str):
        return json.dumps(definition)
    return json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(canonical: str) -> str:
    """SHA-256 (hex) of the canonical text."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def full_name(definition: Any) -> str | None:
    """``namespace.name`` of a named schema (record, enum, fixed), else ``None``."""
    if not isinstance(definition, dict) or "name" not in definition:
        return None
    name = str(definition["name"])
    namespace = definition.get("namespace")
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"
