"""Inject errors that validation detects into a share of synthetic rows, and say exactly which.

Kinds (``record.ERROR_KINDS``): a CURP with a wrong check digit or a broken structure, a
municipality key INEGI does not have, an impossible date (31 February) or a birth date in the
future, and an empty required field. Only kinds the agreement's layout can carry are used (a file
without a CURP column gets no CURP errors; a field given as a constant cannot be broken), and a row
gets one error, so the sidecar lists every spoiled row once. A field is emptied only when the
agency-file reader really requires it (``producers.mapping.records.required_fields``: the default
required fields the layout maps, plus ``required: true``, minus ``required: false``), so every
injected error is detected.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import date, timedelta
from random import Random
from typing import Final

from hub.agreements.dateformat import DateFormat
from hub.agreements.layout import FileLayout
from producers.mapping.records import required_fields as reader_required
from producers.synth.geo import GeoPools
from producers.synth.record import Block, InjectedError, SynthRecord, Value

__all__ = ["ErrorInjector", "impossible_date", "required_fields"]

_DATE_FIELDS: Final = ("fecha_nacimiento", "fecha_beneficio", "effective_date")


def required_fields(layout: FileLayout) -> frozenset[str]:
    """Fields read from the file whose emptiness the agency-file reader reports as an error."""
    return frozenset(
        name
        for name in reader_required(layout)
        if (source := layout.fields.get(name)) is not None
        and source.derive is None
        and source.constant is None
    )


class _Row:
    """One row of a block seen as a mapping (only ``get`` is needed)."""

    __slots__ = ("block", "i")

    def __init__(self, block: Block, i: int) -> None:
        self.block = block
        self.i = i

    def get(self, name: str) -> Value:
        column = self.block.columns.get(name)
        if column is not None:
            return column[self.i]
        return self.block.constants.get(name)


def impossible_date(fmt: DateFormat, year: int = 2019) -> str:
    """31 February of ``year`` written in ``fmt`` (built from real dates, whatever the tokens)."""
    jan28, feb28, jan31 = (fmt.format(date(year, m, d)) for m, d in ((1, 28), (2, 28), (1, 31)))
    prefix = 0
    while prefix < min(len(jan28), len(feb28)) and jan28[prefix] == feb28[prefix]:
        prefix += 1
    suffix = 0
    room = min(len(jan28), len(feb28)) - prefix
    while suffix < room and jan28[-1 - suffix] == feb28[-1 - suffix]:
        suffix += 1
    month = feb28[prefix : len(feb28) - suffix]
    # 28 and 31 have the same width, so jan31 has the month at the same place as jan28.
    return jan31[:prefix] + month + jan31[len(jan28) - suffix :]


class ErrorInjector:
    """Spoils rows of one layout; every spoiled row lists its error."""

    def __init__(
        self, layout: FileLayout, geo: GeoPools, rng: Random, today: date, *, rate: float = 0.0
    ) -> None:
        self.rate = rate
        self.layout = layout
        self.geo = geo
        self.rng = rng
        self.today = today
        in_file = {
            name
            for name, source in layout.fields.items()
            if source.derive is None and source.constant is None
        }
        self.kinds: list[tuple[str, str]] = []
        if "curp" in in_file:
            self.kinds += [("curp", "curp_digito_verificador"), ("curp", "curp_estructura")]
        if "cvegeo" in in_file:
            self.kinds.append(("cvegeo", "municipio_inexistente"))
        elif "cve_mun" in in_file:
            self.kinds.append(("cve_mun", "municipio_inexistente"))
        self.formats: dict[str, DateFormat] = {
            name: DateFormat(layout.fields[name].format or layout.date_format)
            for name in _DATE_FIELDS
            if name in in_file
        }
        self.kinds += [(name, "fecha_inexistente") for name in self.formats]
        if "fecha_nacimiento" in self.formats and "YYYY" in self.formats["fecha_nacimiento"].fmt:
            self.kinds.append(("fecha_nacimiento", "fecha_futura"))
        required = sorted(required_fields(layout))
        self.kinds += [(name, "campo_faltante") for name in required]
        self.fields_of: dict[str, list[str]] = {}
        for name, kind in self.kinds:
            self.fields_of.setdefault(kind, []).append(name)
        self.by_kind = list(self.fields_of)

    def _pick(self) -> tuple[str, str]:
        """A kind of error (each equally likely), then one of the fields it can hit."""
        kind = self.by_kind[int(self.rng.random() * len(self.by_kind))]
        fields = self.fields_of[kind]
        return fields[int(self.rng.random() * len(fields))], kind

    def inject(self, records: Iterable[SynthRecord], rate: float) -> Iterator[SynthRecord]:
        """``records`` with about ``rate`` of them spoiled."""
        rng = self.rng
        for record in records:
            if self.kinds and rng.random() < rate:
                spoiled = self._spoil(record)
                if spoiled is not None:
                    yield spoiled
                    continue
            yield record

    def spoil_block(self, block: Block) -> None:
        """Spoil about ``rate`` of ``block``'s rows, adding each error to ``block.errors``."""
        if not self.kinds:
            return
        rand = self.rng.random
        rate = self.rate
        for i in [i for i in range(block.size) if rand() < rate]:
            field, kind = self._pick()
            text = self._text(_Row(block, i), field, kind)
            if text is not None:
                block.errors.append((i, field, text, kind))

    def _spoil(self, record: SynthRecord) -> SynthRecord | None:
        field, kind = self._pick()
        text = self._text(record.values, field, kind)
        if text is None:
            return None
        return replace(
            record,
            raw={**record.raw, field: text},
            errors=(*record.errors, InjectedError(field, kind)),
        )

    def _text(self, values: Mapping[str, Value] | _Row, field: str, kind: str) -> str | None:
        if kind.startswith("curp"):
            curp = values.get("curp")
            if not isinstance(curp, str) or len(curp) != 18:
                return None
            if kind == "curp_digito_verificador":
                return curp[:17] + str((int(curp[17]) + 1 + int(self.rng.random() * 9)) % 10)
            return curp[:4] + "O" + curp[5:]  # a letter where the birth year goes
        if kind == "municipio_inexistente":
            ent = str(values.get("cve_ent"))
            known = self.geo.known_municipalities
            mun = next(m for m in ("999", "998", "997", "996") if (ent, m) not in known)
            unpadded = self.layout.fields[field].unpadded
            if field == "cvegeo":
                key = ent + mun + str(values.get("cve_loc") or "")
                return key.lstrip("0") if unpadded else key
            return mun
        if kind == "fecha_inexistente":
            return impossible_date(self.formats[field])
        if kind == "fecha_futura":
            future = self.today + timedelta(days=30 + int(self.rng.random() * 300))
            return self.formats[field].format(future)
        return ""  # campo_faltante
