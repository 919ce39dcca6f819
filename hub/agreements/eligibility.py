"""Program eligibility rules: CEL expressions over a documented set of variables, never ``eval``.

A rule is written in an agreement (``programs[].eligibility.expression``) in the Common Expression
Language and evaluated with ``cel-python``. Rules may only read the variables in ``VARIABLES``:
``persona.<campo>`` for the person being assessed and ``hogar.<campo>`` for their household (the
poverty measurement of the household's latest socioeconomic survey). Example::

    persona.edad >= 65 || (persona.edad >= 60 && hogar.pobreza_extrema)

``compile_rule`` checks the syntax, that every ``persona.x``/``hogar.x`` is documented, and that the
rule yields a boolean on a typical person; the loader calls it so a bad rule never loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final, Protocol

import celpy
from celpy import celtypes
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError
from lark import Token, Tree

__all__ = [
    "VARIABLES",
    "CompiledRule",
    "EligibilityRuleError",
    "compile_rule",
    "evaluate",
]

#: Every variable a rule may read: name -> (CEL type, Spanish description, sample value).
VARIABLES: Final[Mapping[str, tuple[str, str, Any]]] = {
    "persona.edad": (
        "int",
        "edad cumplida en años a la fecha de evaluación",
        40,
    ),
    "persona.sexo": (
        "string",
        "sexo: H, M o X",
        "M",
    ),
    "persona.entidad_nacimiento": (
        "string",
        "clave INEGI de 2 dígitos; NE nacido en el extranjero",
        "15",
    ),
    "persona.discapacidad": (
        "bool",
        "declara alguna discapacidad (dato sensible)",
        False,
    ),
    "persona.indigena": (
        "bool",
        "se reconoce indígena o habla lengua indígena (dato sensible)",
        False,
    ),
    "persona.nivel_escolar": (
        "string",
        "NINGUNO, PREESCOLAR, PRIMARIA, SECUNDARIA, MEDIA_SUPERIOR o SUPERIOR",
        "SECUNDARIA",
    ),
    "persona.asiste_escuela": (
        "bool",
        "asiste actualmente a la escuela",
        False,
    ),
    "persona.parentesco": (
        "string",
        "JEFE, CONYUGE, HIJO, OTRO_PARIENTE o NO_PARIENTE",
        "JEFE",
    ),
    "persona.trabaja": (
        "bool",
        "trabajó el mes pasado",
        True,
    ),
    "persona.seguridad_social": (
        "bool",
        "tiene seguridad social por su trabajo",
        False,
    ),
    "persona.pension_contributiva": (
        "bool",
        "recibe pensión contributiva (IMSS, ISSSTE...)",
        False,
    ),
    "hogar.ambito": (
        "string",
        "urbano o rural (localidad de 2,500 habitantes o más es urbana)",
        "urbano",
    ),
    "hogar.cve_ent": (
        "string",
        "clave INEGI de la entidad (2 dígitos)",
        "15",
    ),
    "hogar.cve_mun": (
        "string",
        "clave INEGI del municipio (3 dígitos)",
        "106",
    ),
    "hogar.integrantes": (
        "int",
        "número de integrantes del hogar",
        4,
    ),
    "hogar.menores": (
        "int",
        "integrantes menores de 18 años",
        2,
    ),
    "hogar.ingreso_per_capita": (
        "double",
        "ingreso corriente mensual por persona (MXN)",
        3500.0,
    ),
    "hogar.carencias": (
        "int",
        "número de carencias sociales (0 a 6)",
        1,
    ),
    "hogar.rezago_educativo": (
        "bool",
        "carencia por rezago educativo",
        False,
    ),
    "hogar.carencia_salud": (
        "bool",
        "carencia por acceso a los servicios de salud",
        False,
    ),
    "hogar.carencia_seguridad_social": (
        "bool",
        "carencia por acceso a la seguridad social",
        True,
    ),
    "hogar.carencia_vivienda": (
        "bool",
        "carencia por calidad y espacios de la vivienda",
        False,
    ),
    "hogar.carencia_servicios": (
        "bool",
        "carencia por servicios básicos en la vivienda",
        False,
    ),
    "hogar.carencia_alimentacion": (
        "bool",
        "carencia por acceso a la alimentación nutritiva",
        False,
    ),
    "hogar.pobreza": (
        "bool",
        "en pobreza (ingreso < LPI y al menos una carencia)",
        False,
    ),
    "hogar.pobreza_extrema": (
        "bool",
        "en pobreza extrema (ingreso < LPEI y 3 carencias o más)",
        False,
    ),
    "hogar.vulnerable_carencias": (
        "bool",
        "vulnerable por carencias sociales",
        True,
    ),
    "hogar.vulnerable_ingreso": (
        "bool",
        "vulnerable por ingreso",
        False,
    ),
}

_ROOTS: Final = frozenset(name.split(".", 1)[0] for name in VARIABLES)


class EligibilityRuleError(ValueError):
    """A rule that does not parse, reads an undocumented variable, or does not yield a boolean."""


class _HasExpression(Protocol):
    @property
    def expression(self) -> str: ...


@dataclass(frozen=True)
class CompiledRule:
    """A parsed, checked rule ready to evaluate."""

    expression: str
    program: Any  # celpy.Runner; untyped third-party object


@lru_cache(maxsize=256)
def compile_rule(expression: str) -> CompiledRule:
    """Parse and check ``expression``; raises ``EligibilityRuleError`` (a ``ValueError``)."""
    env = celpy.Environment()
    try:
        ast = env.compile(expression)
    except CELParseError as exc:
        column = getattr(exc, "column", None)
        where = f" cerca de la columna {column}" if column else ""
        raise EligibilityRuleError(
            f"la expresión CEL '{expression}' no es válida{where}; revise operadores, paréntesis "
            "y comillas"
        ) from exc
    unknown = sorted(_unknown_variables(ast))
    if unknown:
        raise EligibilityRuleError(
            f"la expresión usa variables no documentadas: {', '.join(unknown)}; las variables "
            f"disponibles son: {', '.join(VARIABLES)}"
        )
    rule = CompiledRule(expression=expression, program=env.program(ast))
    try:
        _run(rule, _sample_variables())
    except EligibilityRuleError as exc:
        raise EligibilityRuleError(f"{exc} (evaluada con valores de ejemplo)") from exc
    return rule


def evaluate(rule: CompiledRule | _HasExpression | str, variables: Mapping[str, Any]) -> bool:
    """Whether ``variables`` (``{"persona": {...}, "hogar": {...}}``) satisfy ``rule``.

    ``rule`` may be a compiled rule, an agreement's ``EligibilityRule`` or the expression text.
    Missing variables or wrong types raise ``EligibilityRuleError``.
    """
    if isinstance(rule, CompiledRule):
        compiled = rule
    elif isinstance(rule, str):
        compiled = compile_rule(rule)
    else:
        compiled = compile_rule(rule.expression)
    return _run(compiled, variables)


def _run(rule: CompiledRule, variables: Mapping[str, Any]) -> bool:
    activation = {name: _activation_value(name, value) for name, value in variables.items()}
    try:
        result = rule.program.evaluate(activation)
    except CELEvalError as exc:
        raise EligibilityRuleError(_eval_message(rule, exc)) from exc
    if isinstance(result, CELEvalError):
        raise EligibilityRuleError(_eval_message(rule, result))
    if not isinstance(result, celtypes.BoolType):
        raise EligibilityRuleError(
            f"la regla '{rule.expression}' debe dar verdadero o falso, no {type(result).__name__}"
        )
    return bool(result)


def _eval_message(rule: CompiledRule, exc: CELEvalError) -> str:
    detail = str(exc.args[0]) if exc.args else type(exc).__name__
    if "undeclared reference" in detail:
        name = detail.split("'")[1] if detail.count("'") >= 2 else "?"
        detail = f"la variable '{name}' no existe; use persona.<campo> u hogar.<campo>"
    elif "no matching overload" in detail:
        detail = "operación con tipos incompatibles (p. ej. comparar texto con número)"
    elif "no such key" in detail:
        detail = "falta un dato que la regla necesita"
    return f"no se pudo evaluar '{rule.expression}': {detail}"


def _sample_variables() -> dict[str, dict[str, Any]]:
    sample: dict[str, dict[str, Any]] = {root: {} for root in _ROOTS}
    for name, (_type, _description, value) in VARIABLES.items():
        root, field = name.split(".", 1)
        sample[root][field] = value
    return sample


def _unknown_variables(ast: Tree[Any]) -> set[str]:
    """``root.field`` references outside ``VARIABLES`` (bare identifiers bound by macros pass)."""
    found: set[str] = set()
    bound = _macro_vars(ast)
    for node in ast.iter_subtrees():
        if node.data != "member_dot" or len(node.children) != 2:
            continue
        inner, field = node.children
        root = _bare_identifier(inner)
        if root is None or not isinstance(field, Token):
            continue
        if f"{root}.{field}" not in VARIABLES and root not in bound:
            found.add(f"{root}.{field}")
    return found


def _bare_identifier(node: Any) -> str | None:
    """The identifier of ``member -> primary -> ident`` chains, else None."""
    while isinstance(node, Tree) and node.data in {"member", "primary"} and len(node.children) == 1:
        node = node.children[0]
    if isinstance(node, Tree) and node.data == "ident" and node.children:
        return str(node.children[0])
    return None


def _macro_vars(ast: Tree[Any]) -> set[str]:
    """Identifiers bound by comprehension macros (``list.exists(x, ...)``): first macro argument."""
    names: set[str] = set()
    for node in ast.iter_subtrees():
        if node.data == "member_dot_arg" and len(node.children) == 3:
            args = node.children[2]
            if isinstance(args, Tree) and args.children:
                first = _bare_identifier_expr(args.children[0])
                if first is not None:
                    names.add(first)
    return names


def _bare_identifier_expr(node: Any) -> str | None:
    while isinstance(node, Tree) and node.data != "ident" and len(node.children) == 1:
        node = node.children[0]
    if isinstance(node, Tree) and node.data == "ident" and node.children:
        return str(node.children[0])
    return None


def _activation_value(root: str, value: Any) -> Any:
    """A root variable as CEL, coercing documented numbers to their declared type (CEL has no
    implicit int/double conversion, so ``3000`` must become ``3000.0`` for a double)."""
    if root not in _ROOTS or not isinstance(value, Mapping):
        return _to_cel(value)
    converted: dict[Any, Any] = {}
    for field, item in value.items():
        declared = VARIABLES.get(f"{root}.{field}")
        kind = declared[0] if declared is not None else None
        number = isinstance(item, int | float | Decimal) and not isinstance(item, bool)
        if kind == "double" and number:
            converted[celtypes.StringType(field)] = celtypes.DoubleType(float(item))
        elif kind == "int" and number and float(item).is_integer():
            converted[celtypes.StringType(field)] = celtypes.IntType(int(item))
        else:
            converted[celtypes.StringType(field)] = _to_cel(item)
    return celtypes.MapType(converted)


def _to_cel(value: Any) -> Any:
    """Plain Python values (as the registry produces them) to CEL values."""
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        return celtypes.IntType(value)
    if isinstance(value, float | Decimal):
        return celtypes.DoubleType(float(value))
    if isinstance(value, str):
        return celtypes.StringType(value)
    if isinstance(value, date):
        return celtypes.StringType(value.isoformat())
    if value is None:
        return None
    if isinstance(value, Mapping):
        return celtypes.MapType({celtypes.StringType(str(k)): _to_cel(v) for k, v in value.items()})
    if isinstance(value, list | tuple | set | frozenset):
        return celtypes.ListType([_to_cel(v) for v in value])
    raise EligibilityRuleError(f"tipo de valor no admitido en una regla: {type(value).__name__}")
