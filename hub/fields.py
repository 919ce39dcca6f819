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
    "SURVEY_FIELDS",
    "SURVEY_HOUSEHOLD_FIELDS",
    "SURVEY_MEMBER_FIELDS",
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

#: Socioeconomic survey (CUIS-like): household fields, one row per member in flat files
#: (household fields repeated on each member's row and grouped by ``folio_hogar``).
SURVEY_HOUSEHOLD_FIELDS: Final = (
    "folio_hogar",
    "fecha_levantamiento",
    "cve_ent",
    "cve_mun",
    "cve_loc",
    "cvegeo",
    "material_piso",  # TIERRA | CEMENTO | RECUBRIMIENTO
    "material_techo",  # DESECHO | LAMINA_CARTON | LAMINA_METALICA | TEJA | LOSA | OTRO
    "material_muros",  # DESECHO | LAMINA_CARTON | CARRIZO_BAMBU | EMBARRO | MADERA | TABIQUE
    "cuartos_dormir",
    # DENTRO_VIVIENDA | DENTRO_TERRENO | LLAVE_PUBLICA | OTRA_VIVIENDA | PIPA | POZO_RIO
    "fuente_agua",
    "drenaje",  # RED_PUBLICA | FOSA_SEPTICA | BARRANCA_RIO | NO_TIENE
    "electricidad",  # S/N
    "combustible_cocina",  # GAS | ELECTRICIDAD | LENA_CARBON | OTRO
    "chimenea",  # S/N (only matters with LENA_CARBON)
    *(f"inseg_alim_{i}" for i in range(1, 13)),  # ELCSA items 1-6 adults, 7-12 minors (S/N)
)
SURVEY_MEMBER_FIELDS: Final = (
    "num_integrante",
    "curp",
    "primer_apellido",
    "segundo_apellido",
    "nombre",
    "fecha_nacimiento",
    "edad",
    "sexo",
    "parentesco",  # JEFE | CONYUGE | HIJO | OTRO_PARIENTE | NO_PARIENTE
    "nivel_escolar",  # NINGUNO | PREESCOLAR | PRIMARIA | SECUNDARIA | MEDIA_SUPERIOR | SUPERIOR
    "grado_aprobado",
    "asiste_escuela",  # S/N
    "afiliacion_salud",  # IMSS | ISSSTE | PEMEX_SEDENA_SEMAR | IMSS_BIENESTAR | PRIVADO | NINGUNA
    "trabaja",  # S/N
    "seguridad_social",  # S/N: direct social security from work (IMSS/ISSSTE contributions)
    "afore",  # S/N: voluntary SAR/AFORE
    "pension_contributiva",  # S/N
    "pension_no_contributiva",  # S/N (e.g. Pensión para Adultos Mayores)
    "ingreso_trabajo",  # monthly MXN
    "ingreso_transferencias",
    "ingreso_programas",
    "ingreso_otros",
    "discapacidad",
    "indigena",
)
SURVEY_FIELDS: Final = frozenset(SURVEY_HOUSEHOLD_FIELDS + SURVEY_MEMBER_FIELDS)
