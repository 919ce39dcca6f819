"""Name normalization and the characters a name may have."""

from __future__ import annotations

import pytest

from hub.validation import normalize_name, validate_name


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("  josé   luis ", "JOSE LUIS"),
        ("Ma. de la Luz", "MARIA DE LA LUZ"),
        ("MA.DE LA LUZ", "MARIA DE LA LUZ"),
        ("Ma Guadalupe", "MARIA GUADALUPE"),
        ("MARIA GPE.", "MARIA GUADALUPE"),
        ("Gpe", "GUADALUPE"),
        ("J. Jesús", "JOSE JESUS"),
        ("Fco. Javier", "FRANCISCO JAVIER"),
        ("Begoña Ibáñez", "BEGOÑA IBAÑEZ"),
        ("Agüero", "AGUERO"),
        ("N\u0303UN\u0303EZ", "ÑUÑEZ"),  # Ñ written as N + combining tilde
        ("María\tdel\u00a0Carmen", "MARIA DEL CARMEN"),
    ],
)
def test_normalize_given_names(raw: str, normalized: str) -> None:
    assert normalize_name(raw) == normalized


def test_surnames_are_not_expanded() -> None:
    assert normalize_name("Ma", expand=False) == "MA"
    assert normalize_name("de la Peña", expand=False) == "DE LA PEÑA"


@pytest.mark.parametrize(
    "value",
    ["Juan", "María de los Ángeles", "DE LA CRUZ", "O'Higgins", "Pérez-Gil", "Ma. Guadalupe", "Ñ"],
)
def test_valid_names(value: str) -> None:
    assert validate_name("nombre", value) == []


@pytest.mark.parametrize(
    "value", ["", "   ", "Juan2", "JUAN/PEDRO", "DE LA", "--", "X" * 101, "JUAN  @"]
)
def test_invalid_names(value: str) -> None:
    (issue,) = validate_name("nombre", value)
    assert (issue.field, issue.code, issue.severity) == ("nombre", "NAME_INVALID", "error")


def test_non_text_name() -> None:
    (issue,) = validate_name("primer_apellido", 42)
    assert issue.code == "NAME_INVALID"
    assert "texto" in issue.message
