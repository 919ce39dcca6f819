"""The agency's own file layout, declared in its agreement: all a new agency needs, never code.

A layout says how to read the agency's file (format, encoding, header or positions, separators)
and, for each canonical field (``hub.fields``), where its value comes from: a column by header
name or 1-based position, several columns summed (amounts split by funding source), a constant,
or a derivation from the CURP; plus an optional date format and code table.

Date formats are written with tokens: ``YYYY``, ``YY``, ``MM``, ``M``, ``DD``, ``D``, ``MMM``
(Spanish three-letter month, ``ENE``), ``MMMM`` (Spanish month name, ``ENERO``); anything else is
literal (``DD/MM/YYYY``, ``YYYYMMDD``, ``D [de] MMMM [de] YYYY``; text in brackets is literal).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.fields import ALL_FIELDS, CURP_DERIVABLE, SURVEY_FIELDS

__all__ = ["FieldSource", "FileLayout"]

FileFormat = Literal["csv", "tsv", "pipe", "xlsx"]
Encoding = Literal["utf-8", "utf-8-sig", "cp1252", "latin-1"]


class FieldSource(BaseModel):
    """Where one canonical field's value comes from in the agency's file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    column: str | None = Field(default=None, description="header name of the column")
    position: int | None = Field(default=None, ge=1, description="1-based column position")
    columns: tuple[str | int, ...] | None = Field(
        default=None, description="several columns (names or positions) whose amounts are summed"
    )
    constant: str | None = Field(default=None, description="the same value for every row")
    derive: Literal["curp"] | None = Field(
        default=None,
        description="derive from the CURP (fecha_nacimiento, sexo, entidad_nacimiento)",
    )
    format: str | None = Field(default=None, description="date format for this field (tokens)")
    codes: dict[str, str] | None = Field(
        default=None, description="code table: the agency's value -> the canonical value"
    )
    required: bool | None = Field(
        default=None, description="override whether an empty value is an error"
    )
    unpadded: bool = Field(
        default=False,
        description="the agency writes INEGI keys without leading zeros (the reader pads them)",
    )

    @model_validator(mode="after")
    def _exactly_one_source(self) -> FieldSource:
        given = [
            name
            for name in ("column", "position", "columns", "constant", "derive")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "indique exactamente un origen: column, position, columns, constant o derive "
                f"(se encontró: {', '.join(given) or 'ninguno'})"
            )
        if self.columns is not None and len(self.columns) < 1:
            raise ValueError("'columns' necesita al menos una columna")
        return self


class FileLayout(BaseModel):
    """How an agency's padrón file is laid out."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: FileFormat = "csv"
    encoding: Encoding = "utf-8"
    delimiter: str | None = Field(
        default=None, description="overrides the format's delimiter (csv ',', tsv tab, pipe '|')"
    )
    header: bool = Field(default=True, description="false when columns are only by position")
    sheet: str | None = Field(default=None, description="xlsx sheet name (default: the first)")
    skip_rows: int = Field(default=0, ge=0, description="rows before the header (titles, notes)")
    date_format: str = Field(default="YYYY-MM-DD", description="default date format (tokens)")
    decimal_separator: Literal[".", ","] = "."
    thousands_separator: Literal["", ",", ".", " "] = ""
    fields: dict[str, FieldSource]

    @property
    def effective_delimiter(self) -> str:
        """The single-character delimiter of a text layout."""
        if self.delimiter is not None:
            return self.delimiter
        return {"csv": ",", "tsv": "\t", "pipe": "|", "xlsx": ","}[self.format]

    @model_validator(mode="after")
    def _check_fields(self) -> FileLayout:
        unknown = sorted(set(self.fields) - ALL_FIELDS - SURVEY_FIELDS)
        if unknown:
            raise ValueError(
                f"campos desconocidos en el mapeo: {', '.join(unknown)}; "
                f"los campos válidos son: {', '.join(sorted(ALL_FIELDS | SURVEY_FIELDS))}"
            )
        for name, source in self.fields.items():
            if source.derive == "curp" and name not in CURP_DERIVABLE:
                raise ValueError(
                    f"el campo '{name}' no puede derivarse de la CURP; solo "
                    f"{', '.join(sorted(CURP_DERIVABLE))}"
                )
            if source.position is not None and self.header is False:
                continue
            if source.column is not None and not self.header:
                raise ValueError(
                    f"el campo '{name}' usa 'column' pero el archivo no tiene encabezado; "
                    "use 'position'"
                )
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise ValueError("'delimiter' debe ser un solo carácter")
        has_geo = "cvegeo" in self.fields or {"cve_ent", "cve_mun"} <= set(self.fields)
        if not has_geo:
            raise ValueError("falta la geografía: declare 'cvegeo' o 'cve_ent' y 'cve_mun'")
        return self
