"""The five sample agreements load, are in force, and carry the demo keys and layout families."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from hub.agreements import (
    demo_private_key,
    load_agreement,
    load_agreements,
    public_key_to_str,
)
from hub.errors import AgreementError
from hub.fields import SENSITIVE_FIELDS, SURVEY_FIELDS

from .conftest import SAMPLE_FILES, SAMPLE_IDS, SAMPLES


def test_all_samples_load_with_unique_ids(samples: Path) -> None:
    agreements = load_agreements(samples)
    assert agreements.ids == SAMPLE_IDS
    assert len(agreements) == 5
    assert {a.id for a in agreements} == set(SAMPLE_IDS)


def test_shipped_samples_are_in_the_live_directory() -> None:
    """Each shipped file is there with its id (an operator may add others beside them)."""
    for name, agreement_id in SAMPLE_FILES.items():
        assert load_agreement(SAMPLES / name).id == agreement_id


def test_an_operators_agreement_beside_the_samples_leaves_them_unchanged(
    samples: Path, tmp_path: Path
) -> None:
    """The README tells operators to add agreements to ``agreements/``: the samples' ids and
    programs do not depend on what else is there."""
    folder = tmp_path / "convenios"
    shutil.copytree(samples, folder)
    text = (samples / "bienestar-pam.yaml").read_text(encoding="utf-8")
    (folder / "prueba.yaml").write_text(
        text.replace("CONV-BIENESTAR-PAM-2026", "CONV-PRUEBA-NU-2026"), encoding="utf-8"
    )
    agreements = load_agreements(folder)
    assert agreements.broken == ()
    assert set(SAMPLE_IDS) < set(agreements.ids)
    assert [a.id for a in load_agreements(samples).for_program("S176")] == [
        "CONV-BIENESTAR-PAM-2026"
    ]


@pytest.mark.parametrize("on", [date(2026, 11, 24), date(2027, 6, 30), date(2029, 1, 15)])
def test_all_samples_in_force_for_years(on: date, samples: Path) -> None:
    assert all(a.in_force(on) for a in load_agreements(samples))


def test_demo_keys_match_sample_public_keys(samples: Path) -> None:
    for agreement in load_agreements(samples):
        assert agreement.environment == "demo"
        public = public_key_to_str(demo_private_key(agreement.id).public_key())
        assert agreement.public_key == public


def test_each_sample_has_its_own_file_layout_family(samples: Path) -> None:
    s = load_agreements(samples)
    pam = s.get("CONV-BIENESTAR-PAM-2026").layout
    assert (pam.format, pam.encoding, pam.date_format) == ("pipe", "utf-8", "YYYYMMDD")
    assert pam.fields["cve_ent"].unpadded and pam.fields["cve_mun"].unpadded
    assert pam.fields["curp"].column == "CURP" and pam.fields["sexo"].column == "SEXO"

    becas = s.get("CONV-CNBBBJ-BUEMS-2026").layout
    assert (becas.format, becas.encoding, becas.thousands_separator) == ("csv", "cp1252", ",")
    assert "MMMM" in becas.date_format and "cvegeo" in becas.fields
    assert {becas.fields[f].derive for f in ("fecha_nacimiento", "sexo", "entidad_nacimiento")} == {
        "curp"
    }

    edomex = s.get("CONV-EDOMEX-MCB-2026").layout
    assert edomex.format == "xlsx" and edomex.sheet and edomex.date_format == "DD/MM/YYYY"
    assert edomex.fields["monto"].columns == ("MONTO_FEDERAL", "MONTO_ESTATAL")
    assert edomex.fields["sexo"].codes is not None
    assert set(edomex.fields["sexo"].codes) >= {"Masculino", "Femenino"}

    leon = s.get("CONV-LEON-JEFAS-2026").layout
    assert leon.format == "tsv" and leon.header is False and leon.date_format == "DD-MMM-YYYY"
    assert all(src.column is None for src in leon.fields.values())
    assert leon.fields["sexo"].codes == {"1": "H", "2": "M"}
    assert leon.fields["titular"].codes == {"S": "S", "N": "N"}

    cuis = s.get("CONV-BIENESTAR-CUIS-2026")
    assert cuis.kind == "encuesta" and cuis.layout.format == "csv"
    assert set(cuis.layout.fields) <= SURVEY_FIELDS
    assert cuis.allows_version("mx.gob.sisi.encuesta.SurveySet", 1)


def test_sensitive_data_only_where_declared(samples: Path) -> None:
    s = load_agreements(samples)
    with_sensitive = {a.id for a in s if set(a.scope.fields) & SENSITIVE_FIELDS}
    assert with_sensitive == {"CONV-EDOMEX-MCB-2026", "CONV-BIENESTAR-CUIS-2026"}
    assert not s.get("CONV-BIENESTAR-PAM-2026").allows_field("discapacidad")
    assert s.get("CONV-EDOMEX-MCB-2026").allows_field("indigena")


def test_contract_versions(samples: Path) -> None:
    s = load_agreements(samples)
    subject = "mx.gob.sisi.padron.ChangeSet"
    assert s.get("CONV-BIENESTAR-PAM-2026").allows_version(subject, 2)
    assert s.get("CONV-CNBBBJ-BUEMS-2026").allows_version(subject, 1)
    assert not s.get("CONV-CNBBBJ-BUEMS-2026").allows_version(subject, 2)
    assert not s.get("CONV-BIENESTAR-CUIS-2026").allows_version(subject, 1)


def test_get_unknown_lists_known_ids(samples: Path) -> None:
    with pytest.raises(AgreementError, match="convenio desconocido") as info:
        load_agreements(samples).get("CONV-NO-EXISTE")
    assert "CONV-BIENESTAR-PAM-2026" in info.value.render()


def test_for_program(samples: Path) -> None:
    s = load_agreements(samples)
    assert [a.id for a in s.for_program("S176")] == ["CONV-BIENESTAR-PAM-2026"]
    assert s.for_program("X999") == []


def test_default_directory_comes_from_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shutil.copy(SAMPLES / "bienestar-pam.yaml", tmp_path / "a.yaml")
    monkeypatch.setenv("SISI_AGREEMENTS_DIR", str(tmp_path))
    assert load_agreements().ids == ("CONV-BIENESTAR-PAM-2026",)


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    shutil.copy(SAMPLES / "bienestar-pam.yaml", tmp_path / "a.yaml")
    shutil.copy(SAMPLES / "bienestar-pam.yaml", tmp_path / "b.yaml")
    agreements = load_agreements(tmp_path)
    assert agreements.path_of("CONV-BIENESTAR-PAM-2026").name == "a.yaml"
    (broken,) = agreements.broken
    (issue,) = broken.error.issues
    assert issue.path.endswith("b.yaml") and issue.field == "id"
    assert issue.line == 4  # the line of 'id:' in the sample
    assert "a.yaml" in issue.message
    assert broken.previous is None


def test_reload_sees_changes_and_keeps_the_files_last_version_on_error(tmp_path: Path) -> None:
    target = tmp_path / "pam.yaml"
    shutil.copy(SAMPLES / "bienestar-pam.yaml", target)
    agreements = load_agreements(tmp_path)
    assert agreements.get("CONV-BIENESTAR-PAM-2026").status == "vigente"

    target.write_text(
        target.read_text(encoding="utf-8").replace("status: vigente", "status: suspendido")
    )
    assert agreements.reload().changed
    assert agreements.get("CONV-BIENESTAR-PAM-2026").status == "suspendido"
    assert not agreements.get("CONV-BIENESTAR-PAM-2026").in_force(date(2026, 11, 24))

    target.write_text("id: [roto\n", encoding="utf-8")
    result = agreements.reload()
    assert not result.changed
    (broken,) = result.broken
    assert broken.path == target and broken.previous is not None
    assert agreements.get("CONV-BIENESTAR-PAM-2026").status == "suspendido"


def test_sample_date_formats_read_real_values(samples: Path) -> None:
    from hub.agreements.dateformat import DateFormat

    s = load_agreements(samples)
    expected = date(2026, 1, 15)
    cases = {
        "CONV-BIENESTAR-PAM-2026": "20260115",
        "CONV-CNBBBJ-BUEMS-2026": "15 de enero de 2026",
        "CONV-EDOMEX-MCB-2026": "15/01/2026",
        "CONV-LEON-JEFAS-2026": "15-ENE-2026",
        "CONV-BIENESTAR-CUIS-2026": "15/01/2026",
    }
    for agreement_id, text in cases.items():
        assert DateFormat(s.get(agreement_id).layout.date_format).parse(text) == expected
