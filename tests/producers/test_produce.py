"""File deliveries through the real broker: layouts, diffs, payments, dry runs."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from hub.agreements import demo_private_key
from hub.errors import InputFileError
from hub.topics import agreement_changes
from hub.validation.curp import decode_curp
from producers import ProduceOptions, produce_file
from producers.store import open_state
from tests.producers.conftest import agreement
from tests.producers.helpers import change_sets, items_of

PAM = "CONV-BIENESTAR-PAM-2026"
BUEMS = "CONV-CNBBBJ-BUEMS-2026"
EDOMEX = "CONV-EDOMEX-MCB-2026"


def _produce(settings, agreement_id: str, path: Path, **options):
    found = agreement(agreement_id)
    return produce_file(
        found, demo_private_key(agreement_id), ProduceOptions(input=path, **options), settings
    )


def _delivered(settings, agreement_id: str, summary) -> list[dict]:
    found = agreement(agreement_id)
    records = change_sets(
        settings, agreement_changes(agreement_id), found.public_key, summary.transaction_id
    )
    assert len(records) == summary.change_sets
    assert {r["chunk_count"] for r in records} <= {summary.change_sets}
    assert all(r["item_count"] == len(r["items"]) for r in records)
    assert all(r["sender_id"] == found.parties.agency.key for r in records)
    return items_of(records)


def _text_rows(path: Path, delimiter: str, encoding: str) -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def test_pipe_layout_with_unpadded_keys_and_compact_dates(settings, synth) -> None:
    path = synth(PAM, people=40)
    summary = _produce(settings, PAM, path, chunk_size=15)
    rows = _text_rows(path, "|", "utf-8")
    assert (summary.read, summary.invalid_rows, summary.altas) == (40, 0, 40)
    assert summary.change_sets == 3 and summary.published == 3
    items = {item["reference_id"]: item for item in _delivered(settings, PAM, summary)}
    assert set(items) == {row["FOLIO"] for row in rows}
    for row in rows:
        item = items[row["FOLIO"]]
        assert item["operation"] == "ALTA"
        geo = item["geography"]
        assert geo["cve_ent"] == row["CVE_EDO"].zfill(2)
        assert geo["cve_mun"] == row["CVE_MUN"].zfill(3)
        assert geo["cve_loc"] == row["CVE_LOC"].zfill(4)
        born = row["FEC_NAC"]
        assert item["person"]["fecha_nacimiento"] == date(
            int(born[:4]), int(born[4:6]), int(born[6:])
        )
        assert item["effective_date"] == date(
            int(row["FEC_ALTA"][:4]), int(row["FEC_ALTA"][4:6]), int(row["FEC_ALTA"][6:])
        )
        assert item["benefit"]["monto"] == Decimal(row["MONTO"])
        assert item["benefit"]["periodicidad"] == "BIMESTRAL"


def test_cp1252_csv_with_cvegeo_spanish_months_and_no_birth_date(settings, synth) -> None:
    path = synth(BUEMS, people=30)
    summary = _produce(settings, BUEMS, path)
    rows = _text_rows(path, ",", "cp1252")
    assert (summary.read, summary.invalid_rows, summary.altas) == (30, 0, 30)
    items = {item["reference_id"]: item for item in _delivered(settings, BUEMS, summary)}
    assert summary.change_sets == 1
    for row in rows:
        item = items[row["ID_BECARIO"]]
        cvegeo = row["CVEGEO_LOCALIDAD"]
        assert len(cvegeo) == 9
        geo = item["geography"]
        assert (geo["cve_ent"], geo["cve_mun"], geo["cve_loc"]) == (
            cvegeo[:2],
            cvegeo[2:5],
            cvegeo[5:],
        )
        parts = decode_curp(row["CURP"])
        assert item["person"]["fecha_nacimiento"] == parts.birth_date
        assert item["person"]["sexo"] == parts.sex
        assert item["person"]["primer_apellido"] == row["APELLIDO_PATERNO"]
        assert item["benefit"]["monto"] == Decimal(row["MONTO_BIMESTRAL"].replace(",", ""))
        assert "de" in row["FECHA_DE_PAGO"] and item["benefit"]["fecha_beneficio"] is not None


def test_xlsx_with_sex_words_and_split_amounts(settings, synth) -> None:
    path = synth(EDOMEX, people=25)
    summary = _produce(settings, EDOMEX, path)
    assert (summary.read, summary.invalid_rows, summary.altas) == (25, 0, 25)
    items = {item["reference_id"]: item for item in _delivered(settings, EDOMEX, summary)}
    sheet = openpyxl.load_workbook(path, read_only=True)["PADRON"]
    rows = list(sheet.iter_rows(values_only=True))[2:]
    header, data = rows[0], rows[1:]
    for values in data:
        row = dict(zip(header, values, strict=False))
        item = items[row["FOLIO"]]
        assert (
            item["person"]["sexo"]
            == {"Femenino": "M", "Masculino": "H", "No binario": "X"}[row["SEXO"]]
        )
        total = Decimal(str(row["MONTO_FEDERAL"] or 0)) + Decimal(str(row["MONTO_ESTATAL"] or 0))
        assert item["benefit"]["monto"] == total
        assert item["geography"]["cve_ent"] == "15"
        assert item["person"]["discapacidad"] in (True, False, None)


def test_second_delivery_yields_exactly_the_expected_altas_bajas_and_cambios(
    settings, synth
) -> None:
    first, second = synth(PAM, people=120, delivery=1), synth(PAM, people=120, delivery=2)
    before = {row["FOLIO"]: row for row in _text_rows(first, "|", "utf-8")}
    after = {row["FOLIO"]: row for row in _text_rows(second, "|", "utf-8")}

    def enrollment(row: dict[str, str]) -> dict[str, str]:  # all but the payment date
        return {column: value for column, value in row.items() if column != "FEC_PAGO"}

    both = set(before) & set(after)
    expected = {
        "ALTA": set(after) - set(before),
        "BAJA": set(before) - set(after),
        "CAMBIO": {ref for ref in both if enrollment(before[ref]) != enrollment(after[ref])},
    }
    assert all(expected.values()), "synth's second delivery should have churn of every kind"
    moved = {ref for ref in both - expected["CAMBIO"] if before[ref] != after[ref]}
    assert len(moved) > len(both) / 2, "most rows differ by their payment date alone"
    _produce(settings, PAM, first)
    summary = _produce(settings, PAM, second, parts=2)  # two reading processes
    assert (summary.altas, summary.bajas, summary.cambios) == (
        len(expected["ALTA"]), len(expected["BAJA"]), len(expected["CAMBIO"]),
    )  # fmt: skip
    got: dict[str, set[str]] = {"ALTA": set(), "BAJA": set(), "CAMBIO": set()}
    for item in _delivered(settings, PAM, summary):
        got[item["operation"]].add(item["reference_id"])
    assert got == expected
    third = _produce(settings, PAM, second)
    assert (third.altas, third.bajas, third.cambios, third.change_sets) == (0, 0, 0, 0)


def _paid_in(path: Path, month: str) -> set[str]:
    """The FOLIOs of a PAM file whose payment date (FEC_PAGO, AAAAMMDD) falls in ``month``."""
    rows = _text_rows(path, "|", "utf-8")
    return {row["FOLIO"] for row in rows if row["FEC_PAGO"][:6] == month.replace("-", "")}


def test_a_period_pays_the_rows_dated_in_it_once(settings, synth) -> None:
    path = synth(PAM, people=40)  # synth's first bimester: paid in 2026-01 and 2026-02
    in_january, in_february = _paid_in(path, "2026-01"), _paid_in(path, "2026-02")
    assert in_january and in_february and len(in_january | in_february) == 40
    january = _produce(settings, PAM, path, period="2026-01")
    assert (january.altas, january.pagos, january.exit_code) == (40, len(in_january), 0)
    assert january.payments_outside_period == {"2026-02": len(in_february)}
    text = january.render()
    assert (
        f"aviso: {len(in_february):,} filas con monto tienen fecha de pago fuera de 2026-01 "
        f"(2026-02: {len(in_february):,}) y no se enviaron como pagos de ese periodo" in text
    )
    pagos = [i for i in _delivered(settings, PAM, january) if i["operation"] == "PAGO"]
    assert {i["reference_id"] for i in pagos} == in_january
    assert all(i["benefit"]["fecha_beneficio"].strftime("%Y-%m") == "2026-01" for i in pagos)
    again = _produce(settings, PAM, path, period="2026-01")
    assert (again.altas, again.pagos) == (0, 0)
    # February pays the rows dated in February only: a January payment is never paid twice
    february = _produce(settings, PAM, path, period="2026-02")
    assert february.pagos == len(in_february)
    pagos = [i for i in _delivered(settings, PAM, february) if i["operation"] == "PAGO"]
    assert {i["reference_id"] for i in pagos} == in_february
    assert all(i["benefit"]["monto"] > 0 for i in pagos)


def test_a_period_none_of_whose_payments_are_in_the_file_is_refused(settings, synth) -> None:
    path = synth(PAM, people=20)  # paid in 2026-01 and 2026-02
    for dry_run in (True, False):
        with pytest.raises(InputFileError) as refused:
            _produce(settings, PAM, path, period="2026-05", dry_run=dry_run)
        assert refused.value.field == "period"
        assert (
            "ninguna de las 20 filas con monto y fecha de pago tiene su fecha en el periodo "
            "2026-05" in refused.value.message
        )
        assert "No se envió nada" in refused.value.message
        assert refused.value.hint and "--period 2026-0" in refused.value.hint
    conn = open_state(settings, PAM)
    assert conn.execute("select count(*) from snapshot").fetchone()[0] == 0
    assert conn.execute("select count(*) from outbox").fetchone()[0] == 0
    conn.close()


def test_without_a_period_the_summary_says_no_payment_was_sent(settings, synth) -> None:
    path = synth(PAM, people=30)
    summary = _produce(settings, PAM, path)
    assert (summary.altas, summary.pagos, summary.exit_code) == (30, 0, 0)
    assert summary.payments_without_period == 30
    assert summary.payment_month in ("2026-01", "2026-02")
    text = summary.render()
    assert (
        "aviso: 30 filas traen monto de apoyo, pero no se envió ningún pago porque no se "
        "indicó --period. Para informar esos pagos, ejecute de nuevo con --period AAAA-MM "
        f"(las fechas de pago del archivo caen sobre todo en {summary.payment_month}: "
        f"--period {summary.payment_month})" in text
    )
    assert summary.to_json()["notices"] == [text.split("aviso: ", 1)[1].split("\n")[0]]
    # as told: the same file with the period sends the payments, and nothing else again
    paid = _produce(settings, PAM, path, period=summary.payment_month)
    assert (paid.altas, paid.cambios, paid.pagos) == (0, 0, len(_paid_in(path, paid.period)))
    assert paid.payments_without_period == 0


def test_a_rows_alta_or_cambio_and_its_pago_never_share_a_change_set(settings, synth) -> None:
    """The hub's idempotency key is (agreement, message, reference): an ALTA and a PAGO of one row
    in one change set would make it refuse the PAGO. PAGO items start change sets of their own."""
    first, second = synth(PAM, people=60, delivery=1), synth(PAM, people=60, delivery=2)
    for path, period, chunk in ((first, "2026-01", 1000), (second, "2026-03", 25)):
        summary = _produce(settings, PAM, path, period=period, chunk_size=chunk)
        assert summary.pagos > 0 and summary.altas + summary.cambios > 0
        found = agreement(PAM)
        records = change_sets(
            settings, agreement_changes(PAM), found.public_key, summary.transaction_id
        )
        assert len(records) == summary.change_sets  # the header's chunk_count is right too
        assert {r["chunk_count"] for r in records} == {summary.change_sets}
        for record in records:
            references = [item["reference_id"] for item in record["items"]]
            assert len(references) == len(set(references)), record["chunk_index"]
            operations = {item["operation"] for item in record["items"]}
            assert not ("PAGO" in operations and operations & {"ALTA", "CAMBIO"})


def test_invalid_rows_are_reported_and_never_become_bajas(settings, synth) -> None:
    clean, dirty = synth(PAM, people=60), synth(PAM, people=60, error_rate=0.2)
    _produce(settings, PAM, clean)
    summary = _produce(settings, PAM, dirty, parts=3)
    assert summary.invalid_rows > 0 and summary.bajas == 0
    assert summary.exit_code == 1
    # the file has a row without reference_id: whoever it was cannot be told apart as gone
    assert summary.bajas_on_hold == 1
    assert all(i["operation"] != "BAJA" for i in _delivered(settings, PAM, summary))
    complete = _produce(settings, PAM, clean)
    assert (complete.bajas, complete.bajas_on_hold) == (0, 0)


def test_dry_run_writes_the_rejection_report_and_touches_nothing(settings, synth, tmp_path) -> None:
    path = synth(PAM, people=60, error_rate=0.2)
    report = tmp_path / "rechazos.csv"
    summary = _produce(settings, PAM, path, dry_run=True, report=report)
    injected = _text_rows(Path(str(path) + ".errores.csv"), ",", "utf-8")
    assert summary.invalid_rows == len({row["linea"] for row in injected}) > 0
    with report.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        assert next(reader) == ["linea", "referencia", "campo", "columna", "codigo", "motivo"]
        reported = list(reader)
    assert {r[0] for r in reported} == {row["linea"] for row in injected}
    assert all(r[5] for r in reported)  # a Spanish reason on every row
    layout = agreement(PAM).layout.fields
    for _, _, label, column, _, _ in reported:  # the agency's own column names
        field_name = label.rsplit(" (", 1)[-1].rstrip(")")  # 'FEC_NAC (fecha_nacimiento)'
        source = layout.get(field_name)
        if source is not None and source.column is not None:
            assert column == source.column, field_name
            assert label == f"{source.column} ({field_name})"
    assert summary.transaction_id is None and summary.change_sets == 0
    conn = open_state(settings, PAM)
    assert conn.execute("select count(*) from snapshot").fetchone()[0] == 0
    assert conn.execute("select count(*) from outbox").fetchone()[0] == 0
    conn.close()
    real = _produce(settings, PAM, path)
    assert real.altas == 60 - summary.invalid_rows


def test_a_file_that_would_drop_most_of_the_padron_is_refused(settings, synth, tmp_path) -> None:
    """A header-only (or truncated, or wrong) file looks like a padrón whose people all left."""
    path = synth(PAM, people=40)
    assert _produce(settings, PAM, path).altas == 40
    header_only = tmp_path / "vacio.txt"
    header_only.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", "utf-8")

    for dry_run in (True, False):
        with pytest.raises(InputFileError) as refused:
            _produce(settings, PAM, header_only, dry_run=dry_run)
        assert "daría de baja a 40 de los 40 registros" in refused.value.message
        assert "--allow-mass-bajas" in (refused.value.hint or "")
        assert refused.value.path == str(header_only)
    conn = open_state(settings, PAM)
    assert conn.execute("select count(*) from snapshot").fetchone()[0] == 40  # untouched
    before = conn.execute("select count(*) from outbox").fetchone()[0]
    conn.close()

    meant = _produce(settings, PAM, header_only, allow_mass_bajas=True)
    assert meant.bajas == 40 and meant.change_sets == 1
    conn = open_state(settings, PAM)
    assert conn.execute("select count(*) from outbox").fetchone()[0] == before + 1
    conn.close()


def test_the_report_names_the_agencys_columns_for_derived_fields() -> None:
    from producers.summary import report_columns

    buems = report_columns(agreement(BUEMS).layout)
    cvegeo = agreement(BUEMS).layout.fields["cvegeo"].column
    assert cvegeo and buems["cve_mun"] == buems["cve_loc"] == cvegeo
