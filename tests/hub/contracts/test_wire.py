"""The Confluent wire format: round-trips (Hypothesis), batches and typed errors."""

from __future__ import annotations

import contextlib
import struct
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.contracts import (
    Catalog,
    WireFormatError,
    decode,
    decode_many,
    encode,
    encode_many,
    split,
)
from hub.contracts.wire import HEADER_SIZE, header
from tests.hub.contracts import examples

text = st.text(max_size=30)
maybe = st.none
money = st.decimals(
    min_value=Decimal("-999999999999.99"),
    max_value=Decimal("999999999999.99"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)
dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))

persons = st.fixed_dictionaries(
    {
        "curp": maybe()
        | st.from_regex(r"[A-Z]{4}[0-9]{6}[HMX][A-Z]{5}[0-9A-Z][0-9]", fullmatch=True),
        "primer_apellido": text,
        "segundo_apellido": maybe() | text,
        "nombre": text,
        "fecha_nacimiento": maybe() | dates,
        "entidad_nacimiento": maybe() | st.sampled_from(["DF", "OC", "NE", "YN"]),
        "sexo": maybe() | st.sampled_from(["H", "M", "X"]),
        "discapacidad": maybe() | st.booleans(),
        "indigena": maybe() | st.booleans(),
    }
)
benefits = st.fixed_dictionaries(
    {
        "clave_programa": text,
        "tipo_beneficio": text,
        "monto": money,
        "fecha_beneficio": maybe() | dates,
        "titular": maybe() | st.booleans(),
        "periodicidad": maybe() | st.sampled_from(["MENSUAL", "BIMESTRAL", "OTRA"]),
    }
)
geographies = st.fixed_dictionaries(
    {
        "cve_ent": st.from_regex(r"[0-3][0-9]", fullmatch=True),
        "cve_mun": st.from_regex(r"[0-9]{3}", fullmatch=True),
        "cve_loc": maybe() | st.from_regex(r"[0-9]{4}", fullmatch=True),
        "domicilio": maybe() | text,
        "ageb": maybe() | text,
    }
)
items = st.fixed_dictionaries(
    {
        "reference_id": text,
        "operation": st.sampled_from(["ALTA", "CAMBIO", "BAJA", "PAGO"]),
        "effective_date": dates,
        "person": persons,
        "benefit": maybe() | benefits,
        "geography": maybe() | geographies,
    }
)
change_sets = st.builds(
    lambda xs, sent, chunk: {
        **examples.header(len(xs)),
        "sent_at": sent,
        "chunk_index": chunk,
        "items": xs,
    },
    st.lists(items, min_size=1, max_size=5),
    st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)),
    st.integers(min_value=0, max_value=2**31 - 1),
)


@pytest.fixture(scope="module")
def v2(catalog: Catalog) -> Any:
    return catalog.subject("mx.gob.sisi.padron.ChangeSet").latest.parsed


@settings(max_examples=150, deadline=None)
@given(record=change_sets, schema_id=st.integers(min_value=0, max_value=2**32 - 1))
def test_round_trip(catalog: Catalog, record: dict[str, Any], schema_id: int) -> None:
    schema = catalog.subject("mx.gob.sisi.padron.ChangeSet").latest.parsed
    frame = encode(schema_id, schema, record)
    assert frame[0] == 0
    assert struct.unpack(">I", frame[1:5])[0] == schema_id
    assert split(frame)[0] == schema_id
    assert decode(frame, {schema_id: schema}) == record


@settings(max_examples=100, deadline=None)
@given(frame=st.binary(max_size=64))
def test_arbitrary_bytes_never_escape_as_untyped_errors(catalog: Catalog, frame: bytes) -> None:
    schema = catalog.subject("mx.gob.sisi.hub.Receipt").latest.parsed
    with contextlib.suppress(WireFormatError):
        decode(frame, lambda _id: schema)


def test_batches_match_single_encoding(v2: Any) -> None:
    records = [examples.change_set([examples.item(reference_id=f"R{i}")]) for i in range(50)]
    frames = encode_many(3, v2, records)
    assert frames == [encode(3, v2, r) for r in records]
    resolved: list[int] = []

    def resolver(schema_id: int) -> Any:
        resolved.append(schema_id)
        return v2

    decoded = decode_many(frames, resolver)
    assert [d["items"][0]["reference_id"] for d in decoded] == [f"R{i}" for i in range(50)]
    assert resolved == [3]  # each schema id resolved once per batch


@pytest.mark.parametrize(
    ("frame", "fragment"),
    [
        (b"", "demasiado corto"),
        (b"\x00\x00\x00", "demasiado corto"),
        (b"\x01\x00\x00\x00\x01\x02", "byte mágico 1"),
        (b'{"json": true}', "byte mágico 123"),
    ],
)
def test_bad_frames(v2: Any, frame: bytes, fragment: str) -> None:
    with pytest.raises(WireFormatError, match=fragment):
        decode(frame, {1: v2})


def test_unknown_schema_id(v2: Any) -> None:
    frame = encode(9, v2, examples.change_set())
    with pytest.raises(WireFormatError, match="id de esquema 9 desconocido"):
        decode(frame, {1: v2})


def test_truncated_body(v2: Any) -> None:
    frame = encode(1, v2, examples.change_set())
    with pytest.raises(WireFormatError, match="no se puede leer"):
        decode(frame[:-10], {1: v2})


def test_trailing_bytes_mean_wrong_schema(catalog: Catalog, v2: Any) -> None:
    frame = encode(1, v2, examples.change_set()) + b"\x00\x00"
    with pytest.raises(WireFormatError, match="sobran 2 bytes"):
        decode(frame, {1: v2})


def test_header_range() -> None:
    assert len(header(2**32 - 1)) == HEADER_SIZE
    with pytest.raises(WireFormatError):
        header(2**32)
