"""The seed at every start: fresh databases get the catalog; operator actions are never undone."""

from __future__ import annotations

import copy
import json
import logging
import shutil
from pathlib import Path

import pytest

from hub.contracts import Catalog, CompatibilityMode, load_catalog
from hub.schema_registry import (
    SchemaStore,
    SubjectConfigNotFoundError,
    open_store,
    seed_from_catalog,
)
from hub.settings import REPO_ROOT

CHANGE_SET = "mx.gob.sisi.padron.ChangeSet"
SURVEY_SET = "mx.gob.sisi.encuesta.SurveySet"


def test_a_fresh_database_gets_every_contract_with_stable_ids(
    store: SchemaStore, catalog: Catalog
) -> None:
    result = seed_from_catalog(store, catalog)
    expected = [(s.name, v.version) for s in catalog for v in s.versions]
    assert [(r.subject, r.version) for r in result.registered] == expected
    assert [r.id for r in result.registered] == list(range(1, len(expected) + 1))
    assert (store.get_version(CHANGE_SET, 1).id, store.get_version(CHANGE_SET, 2).id) == (6, 7)
    assert result.withheld == result.conflicts == result.notes == ()
    for subject in catalog:
        assert store.get_config(subject.name, fallback=False) is subject.compatibility


def test_a_soft_deleted_version_stays_deleted(store: SchemaStore, catalog: Catalog) -> None:
    seed_from_catalog(store, catalog)
    store.delete_version(CHANGE_SET, 1)
    again = seed_from_catalog(store, catalog)
    assert again.registered == ()
    assert store.versions(CHANGE_SET) == [2]
    assert store.versions(CHANGE_SET, deleted=True) == [1, 2]
    assert store.get_version(CHANGE_SET, "latest").version == 2
    assert (CHANGE_SET, 1, True) in {(r.subject, r.version, r.deleted) for r in again.existing}
    # a whole subject soft-deleted stays deleted too
    store.delete_subject(CHANGE_SET)
    assert seed_from_catalog(store, catalog).registered == ()
    assert CHANGE_SET not in store.subjects()


def test_a_permanently_deleted_version_is_not_brought_back(
    store: SchemaStore, catalog: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    seed_from_catalog(store, catalog)
    store.delete_version(CHANGE_SET, 1)
    store.delete_version(CHANGE_SET, 1, permanent=True)
    with caplog.at_level(logging.INFO, logger="hub.schema_registry.seed"):
        again = seed_from_catalog(store, catalog)
    assert again.registered == () and again.conflicts == ()
    assert store.versions(CHANGE_SET, deleted=True) == [2]
    (message,) = again.withheld
    assert "mx.gob.sisi.padron.ChangeSet/v1.avsc" in message
    assert "se borró definitivamente" in message and "id 6" in message
    assert f"sisi schemas register {CHANGE_SET}" in message
    assert message in caplog.text
    # the deliberate way back: register it again; same id, a new version number
    back = store.register(CHANGE_SET, catalog.subject(CHANGE_SET).versions[0].text)
    assert (back.version, back.id) == (3, 6)
    assert seed_from_catalog(store, catalog).withheld == ()


def test_a_permanently_deleted_subject_stays_gone(store: SchemaStore, catalog: Catalog) -> None:
    seed_from_catalog(store, catalog)
    store.delete_subject(CHANGE_SET)
    store.delete_subject(CHANGE_SET, permanent=True)
    again = seed_from_catalog(store, catalog)
    assert again.registered == ()
    assert len(again.withheld) == 2
    assert CHANGE_SET not in store.subjects(deleted=True)
    with pytest.raises(SubjectConfigNotFoundError):
        store.get_config(CHANGE_SET, fallback=False)


def test_a_schema_only_under_another_subject_is_reported(
    store: SchemaStore, catalog: Catalog
) -> None:
    receipt = catalog.subject("mx.gob.sisi.hub.Receipt").latest
    store.register("acuses-copia", receipt.text)
    result = seed_from_catalog(store, catalog)
    assert "mx.gob.sisi.hub.Receipt" not in store.subjects()
    (message,) = result.withheld
    assert "sólo está registrado en acuses-copia" in message


def test_levels_set_or_removed_by_the_operator_are_kept(
    store: SchemaStore, catalog: Catalog
) -> None:
    seed_from_catalog(store, catalog)
    store.set_config("FULL_TRANSITIVE", CHANGE_SET)
    store.delete_config(SURVEY_SET)
    seed_from_catalog(store, catalog)
    assert store.get_config(CHANGE_SET, fallback=False) is CompatibilityMode.FULL_TRANSITIVE
    with pytest.raises(SubjectConfigNotFoundError):
        store.get_config(SURVEY_SET, fallback=False)


def test_a_level_set_before_the_subject_existed_is_kept(
    store: SchemaStore, catalog: Catalog
) -> None:
    store.set_config("NONE", CHANGE_SET)
    result = seed_from_catalog(store, catalog)
    assert store.get_config(CHANGE_SET, fallback=False) is CompatibilityMode.NONE
    (note,) = result.notes
    assert "se conserva NONE" in note and "BACKWARD_TRANSITIVE" in note


def _catalog_with_survey_v2(tmp_path: Path, catalog: Catalog) -> Path:
    """avro_schemas/ plus a SurveySet v2 that adds an optional field (fine against v1)."""
    directory = tmp_path / "avro_schemas"
    shutil.copytree(REPO_ROOT / "avro_schemas", directory)
    v2 = copy.deepcopy(catalog.subject(SURVEY_SET).latest.definition)
    v2["fields"].append({"name": "lote", "type": ["null", "string"], "default": None})
    (directory / SURVEY_SET / "v2.avsc").write_text(json.dumps(v2, indent=2), encoding="utf-8")
    return directory


def test_the_registry_state_never_stops_the_start(
    db_url: str, tmp_path: Path, catalog: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    # The review's case: SurveySet v1 soft-deleted, an incompatible v2 registered by hand
    # (nothing live to check it against). The plain catalog starts fine.
    store, _ = open_store(db_url, REPO_ROOT / "avro_schemas")
    store.delete_version(SURVEY_SET, 1)
    by_hand = copy.deepcopy(catalog.subject(SURVEY_SET).latest.definition)
    by_hand["fields"][0]["type"] = "long"
    assert store.register(SURVEY_SET, json.dumps(by_hand)).version == 2
    store.engine.dispose()
    store, seeded = open_store(db_url, REPO_ROOT / "avro_schemas")
    assert seeded is not None and seeded.registered == () and seeded.conflicts == ()
    store.engine.dispose()
    # A new catalog version the registry refuses is a reported conflict, not a failed start.
    directory = _catalog_with_survey_v2(tmp_path, catalog)
    with caplog.at_level(logging.WARNING, logger="hub.schema_registry.seed"):
        store, seeded = open_store(db_url, directory)
    try:
        assert seeded is not None and seeded.registered == ()
        (conflict,) = seeded.conflicts
        assert "mx.gob.sisi.encuesta.SurveySet/v2.avsc no se registró" in conflict
        assert "no es compatible" in conflict and "sisi schemas register" in conflict
        assert conflict in caplog.text
        assert store.versions(SURVEY_SET) == [2]
        assert store.versions(CHANGE_SET) == [1, 2]
    finally:
        store.engine.dispose()


def test_a_new_catalog_version_is_registered_and_its_number_reported(
    store: SchemaStore, tmp_path: Path, catalog: Catalog
) -> None:
    seed_from_catalog(store, catalog)
    extra = copy.deepcopy(catalog.subject(SURVEY_SET).latest.definition)
    extra["fields"].append({"name": "otro", "type": ["null", "int"], "default": None})
    store.register(SURVEY_SET, json.dumps(extra))  # the operator's own v2
    result = seed_from_catalog(store, load_catalog(_catalog_with_survey_v2(tmp_path, catalog)))
    (new,) = result.registered
    assert (new.subject, new.version) == (SURVEY_SET, 3)
    (note,) = result.notes
    assert "v2.avsc quedó registrada como versión 3" in note


def test_a_permanent_delete_never_frees_the_version_number(
    store: SchemaStore, catalog: Catalog
) -> None:
    """Unlike Confluent: another schema never takes a permanently deleted version's number."""
    seed_from_catalog(store, catalog)
    store.delete_version(CHANGE_SET, 2)
    store.delete_version(CHANGE_SET, 2, permanent=True)
    other = copy.deepcopy(catalog.subject(CHANGE_SET).latest.definition)
    other["fields"].append({"name": "lote", "type": ["null", "string"], "default": None})
    again = store.register(CHANGE_SET, json.dumps(other))
    assert again.version == 3 and again.id != 7
    assert store.versions(CHANGE_SET, deleted=True) == [1, 3]
