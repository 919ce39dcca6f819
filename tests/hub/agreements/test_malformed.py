"""Each kind of malformed agreement is reported with its file, the line of the key and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.agreements import AgreementFileError, AgreementIssue, load_agreement
from hub.errors import AgreementError

from .conftest import SAMPLES, Mutate, line_of


def issues_of(path: Path) -> tuple[AgreementIssue, ...]:
    with pytest.raises(AgreementFileError) as info:
        load_agreement(path)
    assert isinstance(info.value, AgreementError)
    for issue in info.value.issues:
        assert issue.path == str(path)
    return info.value.issues


def only_issue(path: Path) -> AgreementIssue:
    issues = issues_of(path)
    assert len(issues) == 1, [i.render() for i in issues]
    return issues[0]


def test_bad_yaml(mutate: Mutate) -> None:
    path, text = mutate("kind: padron", "kind: padron: federal")
    issue = only_issue(path)
    assert issue.line == line_of(text, "kind: padron: federal")
    assert "YAML mal formado" in issue.message and "columna" in issue.message


def test_unknown_field(mutate: Mutate) -> None:
    path, text = mutate("  max_lag_hours: 240\n", "  max_lag_hours: 240\n  prioridad: alta\n")
    issue = only_issue(path)
    assert (issue.field, issue.line) == ("delivery.prioridad", line_of(text, "  prioridad: alta"))
    assert issue.message == "campo desconocido"
    assert issue.hint is not None and "max_lag_hours" in issue.hint


def test_unknown_field_inside_layout_source(mutate: Mutate) -> None:
    path, text = mutate("monto: {column: MONTO}", "monto: {column: MONTO, columna: X}")
    issue = only_issue(path)
    assert issue.field == "layout.fields.monto.columna"
    assert issue.line == line_of(text, "monto: {column: MONTO, columna")


def test_missing_top_level_field(mutate: Mutate) -> None:
    path, _text = mutate("valid_until: 2030-12-31\n", "")
    issue = only_issue(path)
    assert issue.field == "valid_until" and "falta" in issue.message
    assert issue.line == 4  # the mapping that lacks it starts at 'id:'


def test_missing_nested_field_points_at_its_section(mutate: Mutate) -> None:
    path, text = mutate("  max_lag_hours: 240\n", "")
    issue = only_issue(path)
    assert issue.field == "delivery.max_lag_hours"
    assert issue.line == line_of(text, "delivery:")


def test_bad_date(mutate: Mutate) -> None:
    path, text = mutate("valid_from: 2026-01-01", "valid_from: 2026-13-01")
    issue = only_issue(path)
    assert (issue.field, issue.line) == ("valid_from", line_of(text, "valid_from:"))
    assert "fecha inválida" in issue.message and issue.hint and "AAAA-MM-DD" in issue.hint


def test_validity_ends_before_it_starts(mutate: Mutate) -> None:
    path, text = mutate("valid_until: 2030-12-31", "valid_until: 2025-12-31")
    issue = only_issue(path)
    assert (issue.field, issue.line) == ("valid_until", line_of(text, "valid_until:"))


def test_sensitive_field_not_declared(mutate: Mutate) -> None:
    path, text = mutate("    - sexo\n", "    - sexo\n    - discapacidad\n")
    issue = only_issue(path)
    assert issue.line == line_of(text, "    - discapacidad")
    assert issue.field == "scope.fields.7"
    assert "sensible" in issue.message and "scope.sensitive" in issue.message


def test_layout_field_outside_scope(mutate: Mutate) -> None:
    path, text = mutate("    - domicilio\n", "")
    issue = only_issue(path)
    assert issue.field == "layout.fields.domicilio"
    assert issue.line == line_of(text, "    domicilio: {column: DOMICILIO")
    assert "fuera del alcance" in issue.message


def test_layout_sensitive_field_without_scope(mutate: Mutate) -> None:
    path, text = mutate(
        "    domicilio: {column: DOMICILIO, required: false}\n",
        "    domicilio: {column: DOMICILIO, required: false}\n    indigena: {column: INDIGENA}\n",
    )
    issue = only_issue(path)
    assert (issue.field, issue.line) == ("layout.fields.indigena", line_of(text, "    indigena:"))


def test_unknown_subject_name_format(mutate: Mutate) -> None:
    path, text = mutate("subject: mx.gob.sisi.padron.ChangeSet", "subject: padron-changeset-v1")
    issue = only_issue(path)
    assert (issue.field, issue.line) == ("contracts.0.subject", line_of(text, "- subject:"))
    assert issue.hint and "mx.gob.sisi.padron.ChangeSet" in issue.hint


def test_subject_of_the_wrong_kind(mutate: Mutate) -> None:
    path, _text = mutate(
        "subject: mx.gob.sisi.padron.ChangeSet", "subject: mx.gob.sisi.encuesta.SurveySet"
    )
    assert only_issue(path).field == "contracts.0.subject"


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("persona.edad >> 65", "no es válida"),
        ("persona.peso >= 65", "persona.peso"),
        ("edad >= 65", "'edad' no existe"),
        ("persona.edad + 65", "verdadero o falso"),
    ],
)
def test_invalid_cel(mutate: Mutate, expression: str, words: str) -> None:
    path, text = mutate("expression: persona.edad >= 65", f"expression: {expression}")
    issue = only_issue(path)
    assert issue.field == "programs.0.eligibility.expression"
    assert issue.line == line_of(text, "      expression:")
    assert words in issue.message


def test_bad_public_key(mutate: Mutate) -> None:
    path, text = mutate(
        "public_key: ed25519:cpiM6YnPTX5c/xBoaFAHjuAoioFB3Oc+ViD5O0EUk8E=",
        "public_key: ed25519:AAAA",
    )
    issue = only_issue(path)
    assert (issue.field, issue.line) == ("public_key", line_of(text, "public_key:"))
    assert "32 bytes" in issue.message


def test_estatal_agency_needs_state(mutate: Mutate) -> None:
    path, text = mutate('    state: "15"\n', "", sample=SAMPLES / "edomex-mujeres-bienestar.yaml")
    issue = only_issue(path)
    assert issue.field == "parties.agency.level"
    assert issue.line == line_of(text, "    level: estatal")


def test_duplicate_key(mutate: Mutate) -> None:
    path, text = mutate("status: vigente\n", "status: vigente\nstatus: borrador\n")
    issue = only_issue(path)
    assert (issue.field, issue.line) == ("status", line_of(text, "status: borrador"))
    assert "repetida" in issue.message


def test_literal_value(mutate: Mutate) -> None:
    path, text = mutate("status: vigente", "status: activo")
    issue = only_issue(path)
    assert (issue.field, issue.line) == ("status", line_of(text, "status: activo"))
    assert issue.hint and "vigente" in issue.hint


def test_all_errors_of_a_file_in_one_message(mutate: Mutate) -> None:
    path, text = mutate("status: vigente\n", "status: activo\ncolor: rojo\n")
    path.write_text(
        text.replace("valid_from: 2026-01-01", "valid_from: 2026-02-30"), encoding="utf-8"
    )
    issues = issues_of(path)
    assert [i.field for i in issues] == ["valid_from", "status", "color"]
    with pytest.raises(AgreementFileError) as info:
        load_agreement(path)
    rendered = info.value.render().splitlines()
    assert len(rendered) == 3
    assert all(line.startswith(f"{path}:") for line in rendered)
    assert "campo 'status'" in rendered[1]


def test_empty_and_non_mapping_files(tmp_path: Path) -> None:
    empty = tmp_path / "vacio.yaml"
    empty.write_text("# nada\n", encoding="utf-8")
    assert "vacío" in only_issue(empty).message
    listing = tmp_path / "lista.yaml"
    listing.write_text("- a\n- b\n", encoding="utf-8")
    assert only_issue(listing).line == 1


def test_missing_file(tmp_path: Path) -> None:
    assert "no existe" in only_issue(tmp_path / "nada.yaml").message


def test_bad_date_format(mutate: Mutate) -> None:
    path, text = mutate("  date_format: YYYYMMDD", "  date_format: YYYYMMDX")
    issue = only_issue(path)
    assert (issue.field, issue.line) == ("layout.date_format", line_of(text, "  date_format:"))
    assert "formato de fecha" in issue.message


def test_bad_field_date_format(mutate: Mutate) -> None:
    path, text = mutate(
        "fecha_beneficio: {column: FEC_PAGO}",
        "fecha_beneficio: {column: FEC_PAGO, format: D de MMMM}",
    )
    issue = only_issue(path)
    assert issue.field == "layout.fields.fecha_beneficio.format"
    assert issue.line == line_of(text, "fecha_beneficio: {column: FEC_PAGO, format")
