"""Agreement queries: in force, programs, fields, versions, topics; frozen records."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from hub.agreements import Agreement, load_agreement
from hub.agreements.keys import generate_keypair
from hub.topics import agreement_changes, agreement_receipts

from .conftest import PAM


@pytest.fixture(scope="module")
def pam() -> Agreement:
    return load_agreement(PAM)


def test_in_force_bounds_and_status(pam: Agreement) -> None:
    assert pam.in_force(pam.valid_from) and pam.in_force(pam.valid_until)
    assert not pam.in_force(date(2025, 12, 31))
    assert not pam.in_force(date(2031, 1, 1))
    for status in ("borrador", "suspendido", "terminado"):
        assert not pam.model_copy(update={"status": status}).in_force(date(2026, 11, 24))


def test_program_lookup(pam: Agreement) -> None:
    program = pam.program("S176")
    assert program is not None and program.benefit.periodicity == "bimestral"
    assert program.benefit.amount.min == 6200
    assert pam.program("S311") is None
    assert pam.program_keys == ("S176",)


def test_allows_field(pam: Agreement) -> None:
    assert pam.allows_field("curp")
    assert pam.allows_field("reference_id")  # the item's own fields are always allowed
    assert not pam.allows_field("discapacidad")
    assert not pam.allows_field("ingreso_trabajo")


def test_allows_version(pam: Agreement) -> None:
    assert pam.allows_version("mx.gob.sisi.padron.ChangeSet", 1)
    assert pam.allows_version("mx.gob.sisi.padron.ChangeSet", 2)
    assert not pam.allows_version("mx.gob.sisi.padron.ChangeSet", 3)
    assert not pam.allows_version("mx.gob.sisi.padron.Otro", 1)


def test_topics(pam: Agreement) -> None:
    assert pam.changes_topic == agreement_changes(pam.id)
    assert pam.receipts_topic == agreement_receipts(pam.id)


def test_frozen_and_round_trips(pam: Agreement) -> None:
    with pytest.raises(ValidationError):
        pam.status = "terminado"  # type: ignore[misc]
    again = Agreement.model_validate(pam.model_dump(mode="json"))
    assert again == pam


def test_environment_defaults_to_produccion(pam: Agreement) -> None:
    data = pam.model_dump(mode="json")
    del data["environment"]
    data["public_key"] = generate_keypair()[1]  # production needs the agency's own key
    assert Agreement.model_validate(data).environment == "produccion"


def test_a_production_agreement_with_its_demo_key_is_refused(pam: Agreement) -> None:
    """Anyone can compute a demo key's private half and sign as the agency."""
    data = pam.model_dump(mode="json")
    data["environment"] = "produccion"
    with pytest.raises(ValueError, match="clave de demostración"):
        Agreement.model_validate(data)


def test_direct_construction_error_is_readable(pam: Agreement) -> None:
    data = pam.model_dump(mode="json")
    data["scope"]["fields"].append("indigena")
    with pytest.raises(ValidationError, match=r"scope\.sensitive"):
        Agreement.model_validate(data)
