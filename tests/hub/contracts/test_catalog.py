"""Loading the contract catalog: the repository's, and malformed ones with precise errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hub.contracts import Catalog, CompatibilityMode, load_catalog
from hub.contracts.catalog import missing_docs
from hub.errors import ContractError
from hub.settings import REPO_ROOT

SUBJECTS = {
    "mx.gob.sisi.padron.ChangeSet",
    "mx.gob.sisi.encuesta.SurveySet",
    "mx.gob.sisi.hub.Receipt",
    "mx.gob.sisi.hub.QuarantineRecord",
    "mx.gob.sisi.hub.AuditRecord",
    "mx.gob.sisi.publico.CoverageCell",
    "mx.gob.sisi.publico.ProgramCatalogEntry",
    "mx.gob.sisi.publico.ComplianceScorecard",
    "mx.gob.sisi.publico.AuditChainHead",
}


def test_repository_catalog_has_every_subject(catalog: Catalog) -> None:
    assert set(catalog.names) == SUBJECTS
    change_set = catalog.subject("mx.gob.sisi.padron.ChangeSet")
    assert [v.version for v in change_set.versions] == [1, 2]
    assert change_set.compatibility is CompatibilityMode.BACKWARD_TRANSITIVE
    assert change_set.latest.version == 2
    assert all(subject.description for subject in catalog)


def test_every_record_and_field_has_a_doc(catalog: Catalog) -> None:
    for subject in catalog:
        for version in subject.versions:
            assert missing_docs(version.definition) == [], version.path


def test_fields_use_the_pub_vocabulary(catalog: Catalog) -> None:
    from hub.fields import BENEFIT_FIELDS, ITEM_FIELDS, PERSON_FIELDS

    item = catalog.subject("mx.gob.sisi.padron.ChangeSet").versions[0].definition["fields"][-1]
    item_fields = item["type"]["items"]["fields"]
    names = [f["name"] for f in item_fields]
    assert tuple(names[:3]) == ITEM_FIELDS
    person = next(f for f in item_fields if f["name"] == "person")["type"]
    assert tuple(f["name"] for f in person["fields"]) == PERSON_FIELDS
    benefit = next(f for f in item_fields if f["name"] == "benefit")["type"][1]
    assert tuple(f["name"] for f in benefit["fields"]) == BENEFIT_FIELDS


def test_survey_covers_the_survey_vocabulary(catalog: Catalog) -> None:
    from hub.fields import SURVEY_HOUSEHOLD_FIELDS, SURVEY_MEMBER_FIELDS

    survey = catalog.subject("mx.gob.sisi.encuesta.SurveySet").latest.definition
    household = survey["fields"][-1]["type"]["items"]
    household_names = {f["name"] for f in household["fields"]}
    member = next(f for f in household["fields"] if f["name"] == "members")["type"]["items"]
    # cvegeo is derived (cve_ent + cve_mun + cve_loc), so it is not sent.
    assert set(SURVEY_HOUSEHOLD_FIELDS) - {"cvegeo"} <= household_names
    assert {f["name"] for f in member["fields"]} == set(SURVEY_MEMBER_FIELDS)


def test_public_records_hold_no_personal_data(catalog: Catalog) -> None:
    # ('nombre' is the program's name in the catalog, not a person's)
    personal = {"curp", "primer_apellido", "segundo_apellido", "fecha_nacimiento", "domicilio"}
    for subject in catalog:
        if subject.name.startswith("mx.gob.sisi.publico."):
            text = subject.latest.text
            assert not any(f'"{name}"' in text for name in personal), subject.name


@pytest.fixture
def copy_dir(tmp_path: Path) -> Path:
    target = tmp_path / "avro_schemas"
    shutil.copytree(REPO_ROOT / "avro_schemas", target)
    return target


def test_malformed_json_names_file_and_line(copy_dir: Path) -> None:
    path = copy_dir / "mx.gob.sisi.hub.Receipt" / "v1.avsc"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4].rstrip(",")  # drop a comma on line 5
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ContractError) as caught:
        load_catalog(copy_dir)
    assert caught.value.path == str(path)
    assert caught.value.line in (5, 6)
    assert "JSON" in caught.value.message


def test_invalid_avro_is_refused_with_the_file(copy_dir: Path) -> None:
    path = copy_dir / "mx.gob.sisi.hub.Receipt" / "v1.avsc"
    definition = json.loads(path.read_text(encoding="utf-8"))
    definition["fields"][0]["type"] = "strin"
    path.write_text(json.dumps(definition, indent=2), encoding="utf-8")
    with pytest.raises(ContractError) as caught:
        load_catalog(copy_dir)
    assert caught.value.path == str(path)
    assert "inválido" in caught.value.message
    assert caught.value.line is not None


def test_record_name_must_match_the_folder(copy_dir: Path) -> None:
    path = copy_dir / "mx.gob.sisi.hub.Receipt" / "v1.avsc"
    definition = json.loads(path.read_text(encoding="utf-8"))
    definition["name"] = "Acuse"
    path.write_text(json.dumps(definition), encoding="utf-8")
    with pytest.raises(ContractError, match="RecordNameStrategy"):
        load_catalog(copy_dir)


def test_version_gaps_are_refused(copy_dir: Path) -> None:
    folder = copy_dir / "mx.gob.sisi.padron.ChangeSet"
    (folder / "v2.avsc").rename(folder / "v3.avsc")
    with pytest.raises(ContractError, match="huecos"):
        load_catalog(copy_dir)


def test_unknown_mode_is_refused(copy_dir: Path) -> None:
    path = copy_dir / "mx.gob.sisi.hub.Receipt" / "subject.yaml"
    path.write_text("compatibility: SIDEWAYS\ndescription: x\n", encoding="utf-8")
    with pytest.raises(ContractError, match="SIDEWAYS"):
        load_catalog(copy_dir)


def test_mode_defaults_to_backward_transitive(copy_dir: Path) -> None:
    path = copy_dir / "mx.gob.sisi.hub.Receipt" / "subject.yaml"
    path.write_text("description: Acuses.\n", encoding="utf-8")
    loaded = load_catalog(copy_dir).subject("mx.gob.sisi.hub.Receipt")
    assert loaded.compatibility is CompatibilityMode.BACKWARD_TRANSITIVE


def test_missing_subject_yaml_and_unknown_subject(copy_dir: Path) -> None:
    with pytest.raises(ContractError, match="no existe el subject"):
        load_catalog(copy_dir).subject("mx.gob.sisi.Nada")
    (copy_dir / "mx.gob.sisi.hub.Receipt" / "subject.yaml").unlink()
    with pytest.raises(ContractError, match=r"falta subject\.yaml"):
        load_catalog(copy_dir)
