"""ChangeSet v1 and v2: each reads the other's data, as its mode promises."""

from __future__ import annotations

import copy
from decimal import Decimal

from hub.contracts import Catalog, CompatibilityMode, decode, encode
from tests.hub.contracts import examples

SUBJECT = "mx.gob.sisi.padron.ChangeSet"


def test_mode_promises_backward(catalog: Catalog) -> None:
    assert catalog.subject(SUBJECT).compatibility.backward


def test_v2_reader_reads_v1_data_with_defaults(catalog: Catalog) -> None:
    v1, v2 = (v.parsed for v in catalog.subject(SUBJECT).versions)
    record = examples.change_set()
    read = decode(encode(1, v1, record), {1: v1}, reader_schema=v2)
    item = read["items"][0]
    assert item["benefit"]["periodicidad"] is None
    assert item["geography"]["ageb"] is None
    assert item["benefit"]["monto"] == Decimal("6200.00")
    assert item["person"] == record["items"][0]["person"]


def test_v1_reader_reads_v2_data_dropping_new_fields(catalog: Catalog) -> None:
    # Not required by BACKWARD_TRANSITIVE, but v2 only adds optional fields, so it is also
    # forward compatible: a consumer still on v1 keeps working.
    subject = catalog.subject(SUBJECT)
    v1, v2 = (v.parsed for v in subject.versions)
    record = examples.change_set()
    record["items"][0]["benefit"]["periodicidad"] = "BIMESTRAL"
    record["items"][0]["geography"]["ageb"] = "0123"
    read = decode(encode(2, v2, record), {2: v2}, reader_schema=v1)
    expected = copy.deepcopy(record)
    del expected["items"][0]["benefit"]["periodicidad"]
    del expected["items"][0]["geography"]["ageb"]
    assert read == expected
    from hub.contracts import check_compatibility

    defs = [(v.version, v.definition) for v in subject.versions]
    assert not check_compatibility(defs[1][1], defs[:1], CompatibilityMode.FULL_TRANSITIVE)


def test_v2_enum_default_covers_unknown_symbols(catalog: Catalog) -> None:
    v2 = catalog.subject(SUBJECT).latest.definition
    benefit = v2["fields"][-1]["type"]["items"]["fields"][4]["type"][1]
    periodicidad = next(f for f in benefit["fields"] if f["name"] == "periodicidad")
    assert periodicidad["type"][1]["default"] in periodicidad["type"][1]["symbols"]
