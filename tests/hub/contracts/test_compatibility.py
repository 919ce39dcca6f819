"""Compatibility under each mode, with the Apache avro checker, reported in Spanish."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hub.contracts import (
    Catalog,
    CompatibilityMode,
    check_catalog,
    check_compatibility,
    ensure_compatible,
    reader_can_read,
)
from hub.errors import IncompatibleSchemaError

BASE: dict[str, Any] = {
    "type": "record",
    "name": "Cosa",
    "namespace": "mx.gob.sisi.prueba",
    "doc": "Prueba.",
    "fields": [
        {"name": "id", "type": "string", "doc": "Id."},
        {"name": "monto", "type": "long", "doc": "Monto."},
    ],
}


def evolve(**change: Any) -> dict[str, Any]:
    schema = copy.deepcopy(BASE)
    if "add" in change:
        schema["fields"].append(change["add"])
    if "drop" in change:
        schema["fields"] = [f for f in schema["fields"] if f["name"] != change["drop"]]
    if "retype" in change:
        name, kind = change["retype"]
        next(f for f in schema["fields"] if f["name"] == name)["type"] = kind
    return schema


OPTIONAL = {"name": "nota", "type": ["null", "string"], "default": None, "doc": "Nota."}
REQUIRED = {"name": "nota", "type": "string", "doc": "Nota."}

M = CompatibilityMode
# (change, mode, compatible?)
TABLE = [
    ("campo opcional nuevo", evolve(add=OPTIONAL), M.BACKWARD, True),
    ("campo opcional nuevo", evolve(add=OPTIONAL), M.FORWARD, True),
    ("campo opcional nuevo", evolve(add=OPTIONAL), M.FULL_TRANSITIVE, True),
    ("campo obligatorio nuevo", evolve(add=REQUIRED), M.BACKWARD, False),
    ("campo obligatorio nuevo", evolve(add=REQUIRED), M.FORWARD, True),
    ("campo obligatorio nuevo", evolve(add=REQUIRED), M.FULL, False),
    ("quitar campo sin default", evolve(drop="monto"), M.BACKWARD, True),
    ("quitar campo sin default", evolve(drop="monto"), M.FORWARD, False),
    ("long a string", evolve(retype=("monto", "string")), M.BACKWARD_TRANSITIVE, False),
    ("int a long (promoción)", evolve(retype=("monto", "double")), M.BACKWARD, True),
    ("cualquier cosa", evolve(retype=("monto", "string")), M.NONE, True),
]


@pytest.mark.parametrize(
    ("candidate", "mode", "compatible"),
    [(c, m, ok) for _, c, m, ok in TABLE],
    ids=[f"{name}-{mode.value}" for name, _, mode, _ in TABLE],
)
def test_modes(candidate: dict[str, Any], mode: CompatibilityMode, compatible: bool) -> None:
    problems = check_compatibility(candidate, [(1, BASE)], mode, subject="s", version=2)
    assert (not problems) is compatible, [p.render() for p in problems]


def test_problems_are_readable_spanish() -> None:
    problems = check_compatibility(
        evolve(add=REQUIRED), [(1, BASE)], M.BACKWARD, subject="mx.gob.sisi.prueba.Cosa", version=2
    )
    (problem,) = problems
    text = problem.render()
    assert text.startswith("mx.gob.sisi.prueba.Cosa v2:")
    assert "no puede leer datos escritos con la v1" in text
    assert "sin valor por omisión" in text
    assert problem.location == "nota"


def test_transitive_checks_every_earlier_version() -> None:
    v2 = evolve(drop="monto")
    previous = [(1, BASE), (2, v2)]
    v3 = evolve(drop="monto")
    v3["fields"].append({**REQUIRED, "name": "monto"})
    # v2 data has no 'monto' and v3 requires it without a default
    assert check_compatibility(v3, previous, M.BACKWARD)
    v3_ok = evolve(drop="monto")
    v3_ok["fields"].append({**OPTIONAL, "name": "monto"})
    assert not check_compatibility(v3_ok, previous, M.BACKWARD)
    # ... but, transitively, v1 wrote 'monto' as long and v3 reads it as string-or-null
    transitive = check_compatibility(v3_ok, previous, M.BACKWARD_TRANSITIVE)
    assert transitive and all(p.against == 1 for p in transitive)


def test_ensure_compatible_raises_with_every_problem() -> None:
    with pytest.raises(IncompatibleSchemaError) as caught:
        ensure_compatible(evolve(retype=("monto", "string")), [(1, BASE)], M.FULL, subject="s")
    assert caught.value.message.count("s:") == 2  # backward and forward


def test_reader_can_read_reports_location() -> None:
    ok, found = reader_can_read(evolve(retype=("monto", "string")), BASE)
    assert not ok
    assert found[0][0] == "type_mismatch"
    assert found[0][1] == "monto"


def test_repository_catalog_passes(catalog: Catalog) -> None:
    report = check_catalog(catalog)
    assert report.ok, [p.render() for p in report.problems]
    assert len(report.results) == len(catalog)


def test_incompatible_change_set_v3_is_refused(catalog: Catalog) -> None:
    subject = catalog.subject("mx.gob.sisi.padron.ChangeSet")
    v3 = copy.deepcopy(subject.latest.definition)
    item = v3["fields"][-1]["type"]["items"]
    item["fields"] = [f for f in item["fields"] if f["name"] != "reference_id"]
    item["fields"].append({"name": "folio", "type": "string", "doc": "Folio."})
    previous = [(v.version, v.definition) for v in subject.versions]
    problems = check_compatibility(v3, previous, subject.compatibility, subject=subject.name)
    assert {p.against for p in problems} == {1, 2}
    assert any("items.folio" in (p.location or "") for p in problems)
