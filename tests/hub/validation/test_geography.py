"""INEGI geography: key normalization on the real catalog, and unusable reference data."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from hub.errors import ReferenceDataError
from hub.settings import Settings
from hub.validation import GeoCatalog, GeoKey


@pytest.mark.parametrize(
    ("given", "key"),
    [
        ({"cve_ent": "09", "cve_mun": "002", "cve_loc": "0001"}, GeoKey("09", "002", "0001")),
        ({"cve_ent": "9", "cve_mun": "2", "cve_loc": "1"}, GeoKey("09", "002", "0001")),
        ({"cve_ent": 9, "cve_mun": 2}, GeoKey("09", "002")),
        ({"cve_mun": "09002"}, GeoKey("09", "002")),
        ({"cve_mun": "9002"}, GeoKey("09", "002")),
        ({"cvegeo": "09002"}, GeoKey("09", "002")),
        ({"cvegeo": "010010001"}, GeoKey("01", "001", "0001")),
        ({"cvegeo": "10010001"}, GeoKey("01", "001", "0001")),
        ({"cve_loc": "010010001"}, GeoKey("01", "001", "0001")),
        ({"cve_ent": "01", "cvegeo": "01001", "cve_loc": " 1 "}, GeoKey("01", "001", "0001")),
    ],
)
def test_padded_unpadded_and_concatenated(catalog: GeoCatalog, given, key) -> None:
    assert catalog.normalize_geography(**given) == (key, [])
    assert catalog.normalize_geography(**given) == (key, [])  # memoized answer is the same


def test_cvegeo_of_key() -> None:
    assert GeoKey("01", "001", "0001").cvegeo == "010010001"
    assert GeoKey("01", "001").cvegeo == "01001"
    assert GeoKey("01", "001", "0001").cvegeo_mun == "01001"


@pytest.mark.parametrize(
    ("given", "field", "code"),
    [
        ({"cve_ent": "33", "cve_mun": "001"}, "cve_ent", "GEO_UNKNOWN_STATE"),
        ({"cve_ent": "99", "cve_mun": "001"}, "cve_ent", "GEO_UNKNOWN_STATE"),
        ({"cve_ent": "01", "cve_mun": "999"}, "cve_mun", "GEO_UNKNOWN_MUNICIPALITY"),
        ({"cvegeo": "09999"}, "cve_mun", "GEO_UNKNOWN_MUNICIPALITY"),
        ({"cve_ent": "1a"}, "cve_ent", "GEO_FORMAT"),
        ({"cve_ent": "001", "cve_mun": "1"}, "cve_ent", "GEO_FORMAT"),
        ({"cvegeo": "0100100"}, "cvegeo", "GEO_FORMAT"),
        ({"cve_loc": "12345"}, "cve_loc", "GEO_FORMAT"),
        ({"cve_ent": "02", "cvegeo": "01001"}, "cve_ent", "GEO_INCONSISTENT"),
        ({"cve_ent": "01"}, "cve_mun", "REQUIRED"),
    ],
)
def test_rejected_keys(catalog: GeoCatalog, given, field, code) -> None:
    key, issues = catalog.normalize_geography(**given)
    assert key is None
    assert [(i.field, i.code, i.severity) for i in issues] == [(field, code, "error")]


def test_nothing_given(catalog: GeoCatalog) -> None:
    assert catalog.normalize_geography() == (None, [])


def test_unknown_locality_is_a_warning(catalog: GeoCatalog) -> None:
    key, issues = catalog.normalize_geography("09", "002", "9998")
    assert key == GeoKey("09", "002", "9998")
    assert [(i.field, i.code, i.severity) for i in issues] == [
        ("cve_loc", "GEO_LOCALITY_NOT_IN_CATALOG", "warning")
    ]


def test_lookups(catalog: GeoCatalog) -> None:
    assert catalog.state_for_renapo("DF") == "09"
    assert catalog.state_for_renapo("NE") == "99"
    assert catalog.state_for_renapo("ZZ") is None
    assert catalog.renapo_for_state("9") == "DF"
    assert catalog.renapo_for_state("15") == "MC"
    assert catalog.ambito("010010001") == "URBANO"
    assert catalog.ambito("010010106") == "RURAL"
    assert catalog.ambito("019999999") is None
    municipalities = catalog.municipalities()
    assert len(municipalities) == 2478
    assert sum(m.population for m in municipalities) == 126_014_024
    localities = catalog.localities_of("01", "001")
    assert localities and all(loc.cvegeo.startswith("01001") for loc in localities)
    assert any(loc.population and loc.population > 800_000 for loc in localities)


def test_states_agree_with_the_curp_table(catalog: GeoCatalog) -> None:
    from hub.validation.curp_rules import RENAPO_TO_CVE_ENT

    assert {s.renapo: s.cve_ent for s in catalog.states()} == dict(RENAPO_TO_CVE_ENT)


def test_load_is_cached(catalog: GeoCatalog) -> None:
    assert GeoCatalog.load(catalog.source) is catalog


# --- unusable reference data ------------------------------------------------------------------


def _copy_reference(tmp_path: Path) -> Path:
    source = Settings().reference_data
    if source is None:
        pytest.skip("no hay datos de referencia")
    target = tmp_path / "data"
    (target / "inegi").mkdir(parents=True)
    for name in ("estados.csv", "municipios.csv"):
        shutil.copy(source / "inegi" / name, target / "inegi" / name)
    # A few localities are enough for these tests.
    with (source / "inegi" / "localidades_nacional.csv").open(encoding="utf-8") as f:
        head = [next(f) for _ in range(20)]
    (target / "inegi" / "localidades_nacional.csv").write_text("".join(head), encoding="utf-8")
    return target


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataError) as caught:
        GeoCatalog.load(tmp_path / "nowhere")
    assert "nowhere" in str(caught.value)
    assert "SISI_REFERENCE_DATA" in str(caught.value)
    assert "inegi.org.mx" in str(caught.value)


@pytest.mark.parametrize("name", ["estados.csv", "municipios.csv", "localidades_nacional.csv"])
def test_missing_file(tmp_path: Path, name: str) -> None:
    data = _copy_reference(tmp_path)
    (data / "inegi" / name).unlink()
    with pytest.raises(ReferenceDataError) as caught:
        GeoCatalog.load(data)
    assert name in str(caught.value)
    assert "SISI_REFERENCE_DATA" in str(caught.value)


def test_missing_column(tmp_path: Path) -> None:
    data = _copy_reference(tmp_path)
    path = data / "inegi" / "municipios.csv"
    text = path.read_text(encoding="utf-8").replace('"CVE_MUN"', '"CLAVE"', 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReferenceDataError) as caught:
        GeoCatalog.load(data)
    assert "municipios.csv:1" in str(caught.value)
    assert "CVE_MUN" in str(caught.value)


def test_malformed_key_names_the_line(tmp_path: Path) -> None:
    data = _copy_reference(tmp_path)
    path = data / "inegi" / "localidades_nacional.csv"
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    rows[3][rows[0].index("CVE_LOC")] = "12A"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    with pytest.raises(ReferenceDataError) as caught:
        GeoCatalog.load(data)
    assert "localidades_nacional.csv:4" in str(caught.value)
    assert "12A" in str(caught.value)


def test_latin1_files_and_official_headers(tmp_path: Path) -> None:
    data = _copy_reference(tmp_path)
    for name in ("municipios.csv", "localidades_nacional.csv"):
        path = data / "inegi" / name
        text = path.read_text(encoding="utf-8").replace('"CVE_AGEE"', '"CVE_ENT"')
        path.write_bytes(text.encode("latin-1", errors="replace"))
    catalog = GeoCatalog.load(data)
    assert catalog.municipality("16", "001") is not None
    assert any(m.name == "Ocampo" for m in catalog.municipalities() if m.cve_ent == "16")


def test_no_reference_directory_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    import hub.settings

    monkeypatch.setattr(hub.settings, "get_settings", lambda: Settings(reference_data=None))
    with pytest.raises(ReferenceDataError) as caught:
        GeoCatalog.load()
    assert "SISI_REFERENCE_DATA" in str(caught.value)
