"""The canonical item fields of a padrón change set.

These names are the vocabulary shared by the Avro contract (``mx.gob.sisi.padron.ChangeSet``), an
agreement's fields in scope (purpose limitation), the agency file layout mapping and validation.
PUB field names keep their official Spanish names.
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = [
    "ALL_FIELDS",
    "BENEFIT_FIELDS",
    "CURP_DERIVABLE",
    "GEOGRAPHY_FIELDS",
    "ITEM_FIELDS",
    "PERSON_FIELDS",
    "SENSITIVE_FIELDS",
    "Operation",
]

Operation = Literal["ALTA", "CAMBIO", "BAJA", "PAGO"]

#: Fields of the item itself (not of the person, benefit or geography).
ITEM_FIELDS: Final = ("reference_id", "operation", "effective_date")

#: PUB person fields (SEDESOL *Lineamientos*).
PERSON_FIELDS: Final = (
    "curp",
    "primer_apellido",
    "segundo_apellido",
    "nombre",
    "fecha_nacimiento",
    "entidad_nacimiento",
    "sexo",
    "discapacidad",
    "indigena",
)

#: Benefit fields: which program, what was given, how much, when; whether the person is the titular.
BENEFIT_FIELDS: Final = ("clave_programa", "tipo_beneficio", "monto", "fecha_beneficio", "titular")

#: INEGI geography (``cvegeo`` is the concatenated form: 2, 5 or 9 digits) and the address.
GEOGRAPHY_FIELDS: Final = ("cve_ent", "cve_mun", "cve_loc", "cvegeo", "domicilio")

#: Sensitive personal data (LGPDPPSO): accepted only where an agreement declares them in scope.
SENSITIVE_FIELDS: Final = frozenset({"discapacidad", "indigena"})

#: Fields a layout may derive from the CURP when the agency's file lacks them.
CURP_DERIVABLE: Final = frozenset({"fecha_nacimiento", "sexo", "entidad_nacimiento"})

ALL_FIELDS: Final = frozenset(ITEM_FIELDS + PERSON_FIELDS + BENEFIT_FIELDS + GEOGRAPHY_FIELDS)
