"""CEL eligibility rules: the samples' rules decide real cases; bad rules never compile."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hub.agreements import EligibilityRuleError, compile_rule, evaluate, load_agreement

from .conftest import SAMPLE_FILES, SAMPLES


def person(**values: object) -> dict[str, object]:
    return {
        "edad": 40,
        "sexo": "M",
        "parentesco": "JEFE",
        "asiste_escuela": False,
        "nivel_escolar": "SECUNDARIA",
    } | values


def household(**values: object) -> dict[str, object]:
    return {
        "cve_ent": "15",
        "cve_mun": "106",
        "menores": 0,
        "pobreza": False,
        "pobreza_extrema": False,
        "vulnerable_carencias": False,
        "vulnerable_ingreso": False,
    } | values


def rule(program: str) -> object:
    # the shipped sample that covers ``program`` (an operator may add agreements for the same
    # programs to agreements/)
    (agreement,) = (
        agreement
        for agreement in (load_agreement(SAMPLES / name) for name in SAMPLE_FILES)
        if agreement.program(program) is not None
    )
    terms = agreement.program(program)
    assert terms is not None
    return terms.eligibility


def test_pension_adultos_mayores_starts_at_65() -> None:
    pam = rule("S176")
    assert evaluate(pam, {"persona": person(edad=65), "hogar": household()})
    assert not evaluate(pam, {"persona": person(edad=64), "hogar": household()})


def test_mujeres_con_bienestar() -> None:
    mcb = rule("EDOMEX-MCB")
    poor = household(pobreza=True)
    assert evaluate(mcb, {"persona": person(edad=30), "hogar": poor})
    assert not evaluate(mcb, {"persona": person(edad=30, sexo="H"), "hogar": poor})
    assert not evaluate(mcb, {"persona": person(edad=65), "hogar": poor})
    assert not evaluate(mcb, {"persona": person(edad=30), "hogar": household()})
    assert not evaluate(
        mcb, {"persona": person(edad=30), "hogar": household(cve_ent="11", pobreza=True)}
    )


def test_leon_jefas_de_familia() -> None:
    jefas = rule("LEON-JEFAS")
    home = household(cve_ent="11", cve_mun="020", menores=2, vulnerable_ingreso=True)
    assert evaluate(jefas, {"persona": person(), "hogar": home})
    assert not evaluate(jefas, {"persona": person(parentesco="CONYUGE"), "hogar": home})
    assert not evaluate(jefas, {"persona": person(), "hogar": home | {"menores": 0}})


def test_becas_media_superior() -> None:
    becas = rule("S311")
    student = person(edad=16, asiste_escuela=True, nivel_escolar="MEDIA_SUPERIOR")
    assert evaluate(becas, {"persona": student, "hogar": household()})
    assert not evaluate(
        becas, {"persona": student | {"asiste_escuela": False}, "hogar": household()}
    )


def test_decimal_and_text_forms() -> None:
    expression = "hogar.ingreso_per_capita < 2500.0"
    assert evaluate(expression, {"hogar": {"ingreso_per_capita": Decimal("2100.50")}})
    assert not evaluate(compile_rule(expression), {"hogar": {"ingreso_per_capita": 3000}})


def test_missing_variable_is_an_error_not_false() -> None:
    with pytest.raises(EligibilityRuleError, match=r"persona\.edad >= 65"):
        evaluate("persona.edad >= 65", {"persona": {}})


@pytest.mark.parametrize(
    "expression",
    ["__import__('os').system('true')", "persona.edad >= ", "open('/etc/passwd')", "1 + 1"],
)
def test_never_eval(expression: str) -> None:
    with pytest.raises(EligibilityRuleError):
        compile_rule(expression)
