"""Readers of INEGI's catalog files (AGEEML-style CSV), with errors that name file and line."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal

from hub.errors import ReferenceDataError

__all__ = ["iter_localities", "read_localities", "read_municipalities", "read_states"]

StateRow = tuple[str, str, str, int | None]
MunicipalityRow = tuple[str, str, str, int]
LocalityRow = tuple[str, str, str, str, Literal["URBANO", "RURAL"] | None, int | None]


def _encoding(path: Path, hint: str) -> str:
    """``utf-8-sig`` when the whole file is UTF-8, else ``latin-1`` (checked in 1 MB steps)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as raw:
            while chunk := raw.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "latin-1"
    except FileNotFoundError:
        message = "no se encontró el catálogo de INEGI"
        raise ReferenceDataError(message, path=path, hint=hint) from None
    except OSError as exc:
        message = f"no se pudo leer el catálogo: {exc}"
        raise ReferenceDataError(message, path=path, hint=hint) from exc
    return "utf-8-sig"


def _rows(
    path: Path, columns: Mapping[str, Sequence[str]], hint: str
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, {logical column: value}) for each data row; ``columns`` lists accepted headers.

    Official INEGI downloads come in UTF-8 or Latin-1 and name some columns differently
    (``CVE_AGEE`` for ``CVE_ENT``, ``POB`` for ``POB_TOTAL``); both are read. The file is
    streamed: the locality catalog is read by every process that validates, and holding its
    whole text (and every row) at once would set their peak memory.
    """
    encoding = _encoding(path, hint)
    try:
        handle = path.open(encoding=encoding, newline="")
    except OSError as exc:
        message = f"no se pudo leer el catálogo: {exc}"
        raise ReferenceDataError(message, path=path, hint=hint) from exc
    with handle:
        reader = csv.reader(handle)
        header = [h.strip().upper() for h in next(reader, [])]
        where: dict[str, int] = {}
        for logical, accepted in columns.items():
            for name in accepted:
                if name in header:
                    where[logical] = header.index(name)
                    break
            else:
                if accepted and not accepted[-1] == "":  # "" marks an optional column
                    raise ReferenceDataError(
                        f"al catálogo le falta la columna {accepted[0]}",
                        path=path,
                        line=1,
                        hint=hint,
                    )
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) < len(header):
                raise ReferenceDataError(
                    f"la fila tiene {len(row)} columnas y el encabezado {len(header)}",
                    path=path,
                    line=line,
                    hint=hint,
                )
            yield line, {logical: row[i].strip() for logical, i in where.items()}


def _key(value: str, width: int, path: Path, line: int, column: str, hint: str) -> str:
    if not (value.isascii() and value.isdigit()) or len(value) > width:
        raise ReferenceDataError(
            f"clave no válida en {column}: {value!r}", path=path, line=line, hint=hint
        )
    return value.zfill(width)


def _population(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() else None


def read_states(path: Path, renapo_of: Mapping[str, str], hint: str) -> list[StateRow]:
    """(CVE_ENT, name, RENAPO code, population); RENAPO codes default to the CURP table."""
    columns = {
        "ent": ("CVE_ENT",),
        "name": ("NOM_ENT",),
        "renapo": ("CVE_RENAPO", ""),
        "pob": ("POB_TOTAL", "POB", ""),
    }
    rows: list[StateRow] = []
    for line, row in _rows(path, columns, hint):
        ent = _key(row["ent"], 2, path, line, "CVE_ENT", hint)
        renapo = row.get("renapo") or renapo_of.get(ent)
        if not renapo:
            raise ReferenceDataError(
                f"la entidad {ent} no tiene clave de RENAPO", path=path, line=line, hint=hint
            )
        rows.append((ent, row["name"], renapo, _population(row.get("pob", ""))))
    if not rows:
        raise ReferenceDataError("el catálogo de entidades está vacío", path=path, hint=hint)
    return rows


def read_municipalities(path: Path, hint: str) -> list[MunicipalityRow]:
    """(CVE_ENT, CVE_MUN, name, population; 0 where the census has none)."""
    columns = {
        "ent": ("CVE_ENT", "CVE_AGEE"),
        "mun": ("CVE_MUN", "CVE_AGEM"),
        "name": ("NOM_MUN", "NOMGEO"),
        "pob": ("POB_TOTAL", "POB", ""),
    }
    rows: list[MunicipalityRow] = []
    for line, row in _rows(path, columns, hint):
        ent = _key(row["ent"], 2, path, line, "CVE_ENT", hint)
        mun = _key(row["mun"], 3, path, line, "CVE_MUN", hint)
        rows.append((ent, mun, row["name"], _population(row.get("pob", "")) or 0))
    if not rows:
        raise ReferenceDataError("el catálogo de municipios está vacío", path=path, hint=hint)
    return rows


def read_localities(path: Path, hint: str) -> list[LocalityRow]:
    """(CVE_ENT, CVE_MUN, CVE_LOC, name, URBANO/RURAL or None, population or None)."""
    return list(iter_localities(path, hint))


def iter_localities(path: Path, hint: str) -> Iterator[LocalityRow]:
    """``read_localities`` one row at a time (the catalog has tens of thousands)."""
    columns = {
        "ent": ("CVE_ENT", "CVE_AGEE"),
        "mun": ("CVE_MUN", "CVE_AGEM"),
        "loc": ("CVE_LOC",),
        "name": ("NOM_LOC", "NOMGEO", ""),
        "ambito": ("AMBITO",),
        "pob": ("POB_TOTAL", "POB", ""),
    }
    for line, row in _rows(path, columns, hint):
        ent = _key(row["ent"], 2, path, line, "CVE_ENT", hint)
        mun = _key(row["mun"], 3, path, line, "CVE_MUN", hint)
        loc = _key(row["loc"], 4, path, line, "CVE_LOC", hint)
        ambito_text = row["ambito"].upper()
        ambito: Literal["URBANO", "RURAL"] | None
        if ambito_text in ("URBANO", "U"):
            ambito = "URBANO"
        elif ambito_text in ("RURAL", "R"):
            ambito = "RURAL"
        else:
            ambito = None
        yield ent, mun, loc, row.get("name", ""), ambito, _population(row.get("pob", ""))
