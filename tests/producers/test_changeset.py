"""Change set encoding: the compiled tail writer and the framed change set against fastavro."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from fastavro import schemaless_reader, schemaless_writer

from hub.contracts import load_catalog
from hub.contracts.wire import decode
from producers.changeset import ChangeSetCodec, ChangeSetHeader, encode_long, epoch_days
from producers.mapping import read_records
from producers.pipeline import codec_spec
from tests.producers.conftest import PADRONES, agreement


def _codec(agreement_id: str, version: int) -> ChangeSetCodec:
    schema = load_catalog().subject("mx.gob.sisi.padron.ChangeSet").version(version)
    return codec_spec(agreement(agreement_id), 7, schema.definition).build()


@pytest.mark.parametrize("value", [0, 1, -1, 63, 64, -65, 2**31, -(2**40), 20_000])
def test_long_encoding_matches_fastavro(value: int) -> None:
    out = io.BytesIO()
    schemaless_writer(out, "long", value)
    assert encode_long(value) == out.getvalue()


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("agreement_id", PADRONES)
def test_tail_is_what_fastavro_writes(synth, agreement_id: str, version: int) -> None:
    path = synth(agreement_id, people=25, error_rate=0.0)
    codec = _codec(agreement_id, version)
    layout = agreement(agreement_id).layout
    for record in read_records(path, layout):
        person, benefit, geography = codec.sub_records(record.values)
        expected = io.BytesIO()
        schemaless_writer(
            expected,
            codec.tail_schema,
            {"person": person, "benefit": benefit, "geography": geography},
        )
        tail = codec.encode_tail(record.values)
        back = schemaless_reader(io.BytesIO(tail), codec.tail_schema, None)
        assert back == schemaless_reader(io.BytesIO(expected.getvalue()), codec.tail_schema, None)
        assert back["person"]["curp"] == record.values["curp"]
        assert back["benefit"]["monto"] == record.values["monto"]


def test_scope_limits_what_is_sent() -> None:
    codec = _codec("CONV-BIENESTAR-PAM-2026", 2)  # PAM's scope has no discapacidad/indigena
    person, benefit, _ = codec.sub_records(
        {"nombre": "ANA", "primer_apellido": "LOPEZ", "discapacidad": True, "indigena": True,
         "clave_programa": "S176", "monto": Decimal("6200.00")}
    )  # fmt: skip
    assert person["discapacidad"] is None and person["indigena"] is None
    assert benefit is not None and benefit["periodicidad"] == "BIMESTRAL"


def test_framed_change_set_reads_back_with_fastavro() -> None:
    codec = _codec("CONV-LEON-JEFAS-2026", 2)
    values = {
        "curp": "GOGN070526MMCMLTF0", "primer_apellido": "GOMEZ", "nombre": "NATALIA",
        "fecha_nacimiento": date(2007, 5, 26), "sexo": "M", "clave_programa": "LEON-JEFAS",
        "tipo_beneficio": "MONETARIO", "monto": Decimal("2500"), "titular": True,
        "cve_ent": "11", "cve_mun": "020", "cve_loc": "0001",
    }  # fmt: skip
    tail = codec.encode_tail(values)
    items = [
        codec.encode_item("R-1", "ALTA", epoch_days(date(2026, 5, 2)), tail),
        codec.encode_item("R-2", "BAJA", epoch_days(date(2026, 5, 3)), tail),
        codec.encode_item("R-3", "PAGO", epoch_days(date(2026, 5, 4)), tail),
    ]
    sent = datetime(2026, 5, 5, 12, 0, 0, 123000, tzinfo=UTC)
    header = ChangeSetHeader("m-1", "t-1", "LEON-DESOC", "CONV-LEON-JEFAS-2026", sent, 2, 5)
    record = decode(codec.frame(header, items), {7: codec.parsed})
    assert (record["message_id"], record["transaction_id"], record["sender_id"]) == (
        "m-1", "t-1", "LEON-DESOC",
    )  # fmt: skip
    assert record["sent_at"] == sent
    assert (record["chunk_index"], record["chunk_count"], record["item_count"]) == (2, 5, 3)
    assert [(i["reference_id"], i["operation"]) for i in record["items"]] == [
        ("R-1", "ALTA"), ("R-2", "BAJA"), ("R-3", "PAGO"),
    ]  # fmt: skip
    first = record["items"][0]
    assert first["effective_date"] == date(2026, 5, 2)
    assert first["benefit"]["monto"] == Decimal("2500.00")
    assert first["benefit"]["titular"] is True
    assert first["geography"] == {
        "cve_ent": "11", "cve_mun": "020", "cve_loc": "0001", "domicilio": None, "ageb": None,
    }  # fmt: skip


@pytest.mark.parametrize("reference_id", ["R-1", "", "x" * 63, "x" * 64, "ÑANDÚ" * 20])
@pytest.mark.parametrize("days", [0, -1, 63, 64, 20_000, -25_000, 2**40])
def test_item_prefix_is_the_avro_encoding(reference_id: str, days: int) -> None:
    for _ in range(2):  # the second time the encoded date comes from the memo
        item = ChangeSetCodec.encode_item(reference_id, "PAGO", days, b"tail")
        out = io.BytesIO()
        schemaless_writer(out, "string", reference_id)
        schemaless_writer(out, "int", 3)
        schemaless_writer(out, "long", days)
        assert item == out.getvalue() + b"tail"
