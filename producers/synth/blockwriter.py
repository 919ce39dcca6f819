"""Write column blocks in an agreement's file layout: the fast path of ``sisi synth padron``.

Each column of a block is encoded with one memoised encoder per field (dates, amounts, codes and
names repeat a lot, so most rows cost a dictionary look-up), injected errors overwrite their
cells, and rows are joined column-wise (``zip``) straight into the file, a block per write, by
``producers.synth.writer``'s ``write_text``/``write_xlsx``, with the same atomic temporary-file
rename and error sidecar.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from hub.agreements.layout import FileLayout
from producers.synth.record import Block, Value
from producers.synth.writer import (
    SIDECAR_HEADER,
    WriteResult,
    atomic_write,
    column_plan,
    format_amount,
    sidecar_path,
    split_amount,
    split_shares,
    value_writer,
    write_text,
    write_xlsx,
)

__all__ = ["write_blocks"]

_MEMO_LIMIT = 200_000


class _Memo(dict[Value, Any]):
    """Encoded text by canonical value; computed on first use, bounded in size."""

    def __init__(self, encode: Callable[[Value], Any]) -> None:
        super().__init__()
        self.encode = encode

    def __missing__(self, value: Value) -> Any:
        text = self.encode(value)
        if len(self) < _MEMO_LIMIT:
            self[value] = text
        return text


#: Fields whose canonical text is written as is unless the layout maps codes or unpads keys.
_DATES = frozenset({"fecha_nacimiento", "fecha_beneficio", "effective_date"})
_KEYS = frozenset({"cve_ent", "cve_mun", "cve_loc", "cvegeo", "entidad_nacimiento"})


def _as_is(name: str, layout: FileLayout) -> bool:
    source = layout.fields[name]
    if source.codes or name in _DATES or name == "monto" or source.columns is not None:
        return False
    return not (source.unpadded and name in _KEYS)


class _Encoder:
    """Turns blocks into lists of text columns for one layout."""

    def __init__(self, layout: FileLayout) -> None:
        self.plan = column_plan(layout)
        self.headers = [header for header, _name, _part in self.plan]
        self.memos: dict[str, _Memo] = {}
        self.as_is = {name for _h, name, _p in self.plan if name and _as_is(name, layout)}
        for _header, name, part in self.plan:
            if name is None or name in self.memos or name in self.as_is:
                continue
            source = layout.fields[name]
            if part is None:
                self.memos[name] = _Memo(value_writer(name, source, layout))
            else:
                assert source.columns is not None
                shares = split_shares(len(source.columns))

                def parts(value: Value, shares: tuple[int, ...] = shares) -> tuple[str, ...]:
                    if not isinstance(value, Decimal):
                        return ("",) * len(shares)
                    return tuple(format_amount(p, layout) for p in split_amount(value, shares))

                self.memos[name] = _Memo(parts)
        self.where: dict[str, list[tuple[int, int | None]]] = {}
        for index, (_header, name, part) in enumerate(self.plan):
            if name is not None:
                self.where.setdefault(name, []).append((index, part))

    def columns(self, block: Block) -> list[list[str]]:
        size = block.size
        out: list[list[str]] = []
        for _header, name, part in self.plan:
            if name is None:
                out.append([""] * size)
                continue
            values = block.columns.get(name)
            if name in self.as_is:
                if values is None:
                    out.append([str(block.constants.get(name) or "")] * size)
                elif None in values:
                    out.append(["" if v is None else str(v) for v in values])
                else:
                    out.append(values.copy())  # type: ignore[arg-type]
                continue
            memo = self.memos[name]
            if values is None:
                text = memo[block.constants.get(name)]
                out.append([text if part is None else text[part]] * size)
            elif part is None:
                out.append(list(map(memo.__getitem__, values)))
            else:
                out.append(list(map(itemgetter(part), map(memo.__getitem__, values))))
        for row, name, text, _kind in block.errors:
            for index, part in self.where.get(name, ()):
                out[index][row] = text if not part else ""
        return out


def write_blocks(
    blocks: Iterable[Block], layout: FileLayout, out: Path | str, *, title: str = ""
) -> WriteResult:
    """Write ``blocks`` to ``out`` in ``layout`` and the sidecar of their injected errors.

    The sidecar's ``referencia`` is the folio as written in the file (empty when the injected
    error is an empty folio).
    """
    out = Path(out)
    encoder = _Encoder(layout)
    first_line = layout.skip_rows + (2 if layout.header else 1)
    folio = next((i for i, (_h, name, _p) in enumerate(encoder.plan) if name == "reference_id"),
                 None)  # fmt: skip
    count = errors = 0
    preamble = [title or "Padrón de beneficiarios"] * layout.skip_rows

    def encoded(sidecar: Any) -> Iterator[list[list[str]]]:
        nonlocal count, errors
        for block in blocks:
            columns = encoder.columns(block)
            for row, name, _text, kind in block.errors:
                if folio is not None:
                    ref = columns[folio][row]
                else:
                    ref = str(block.columns.get("reference_id", [""] * block.size)[row] or "")
                sidecar.writerow((first_line + count + row, ref, name, kind))
            errors += len(block.errors)
            count += block.size
            yield columns

    def write_both(side_handle: IO[Any]) -> None:
        sidecar = csv.writer(side_handle, lineterminator="\n")
        sidecar.writerow(SIDECAR_HEADER)

        def write_main(handle: IO[Any]) -> None:
            rows = (zip(*columns, strict=True) for columns in encoded(sidecar))
            if layout.format == "xlsx":
                write_xlsx(handle, layout, preamble, encoder.headers, rows)
            else:
                write_text(handle, layout, preamble, encoder.headers, rows)

        atomic_write(out, write_main, binary=layout.format == "xlsx", encoding=layout.encoding)

    # The sidecar is written alongside and renamed last: a failure leaves neither file.
    side = sidecar_path(out)
    atomic_write(side, write_both, binary=False, encoding="utf-8")
    return WriteResult(records=count, errors=errors, path=out, sidecar=side)
