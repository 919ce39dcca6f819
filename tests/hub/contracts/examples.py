"""Valid example records for every subject, as factories (each call returns a fresh copy)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

SENT = datetime(2025, 3, 14, 12, 30, tzinfo=UTC)


def header(item_count: int = 1) -> dict[str, Any]:
    return {
        "message_id": "7b1f8a52-0c43-4c36-9a53-3f1c2f0e9b11",
        "transaction_id": "entrega-2025-03-14-001",
        "sender_id": "BIENESTAR",
        "agreement_id": "bienestar-pam-2025",
        "sent_at": SENT,
        "chunk_index": 0,
        "chunk_count": 1,
        "item_count": item_count,
    }


def person(**overrides: Any) -> dict[str, Any]:
    value = {
        "curp": "PEMJ500101HDFRRN09",
        "primer_apellido": "PÉREZ",
        "segundo_apellido": "MARTÍNEZ",
        "nombre": "JUAN",
        "fecha_nacimiento": date(1950, 1, 1),
        "entidad_nacimiento": "DF",
        "sexo": "H",
        "discapacidad": None,
        "indigena": False,
    }
    value.update(overrides)
    return value


def item(**overrides: Any) -> dict[str, Any]:
    value = {
        "reference_id": "PAM-000123",
        "operation": "PAGO",
        "effective_date": date(2025, 3, 1),
        "person": person(),
        "benefit": {
            "clave_programa": "S176",
            "tipo_beneficio": "MONETARIO",
            "monto": Decimal("6200.00"),
            "fecha_beneficio": date(2025, 3, 1),
            "titular": True,
        },
        "geography": {
            "cve_ent": "09",
            "cve_mun": "015",
            "cve_loc": "0001",
            "domicilio": "CALLE 5 DE MAYO 20, CENTRO, 06000",
        },
    }
    value.update(overrides)
    return value


def change_set(items: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    items = [item()] if items is None else items
    return {**header(len(items)), "items": items}


def member(**overrides: Any) -> dict[str, Any]:
    value = {
        "num_integrante": 1,
        "curp": None,
        "primer_apellido": "LÓPEZ",
        "segundo_apellido": None,
        "nombre": "MARÍA",
        "fecha_nacimiento": date(1988, 6, 2),
        "edad": 36,
        "sexo": "M",
        "parentesco": "JEFE",
        "nivel_escolar": "SECUNDARIA",
        "grado_aprobado": 3,
        "asiste_escuela": False,
        "afiliacion_salud": "IMSS_BIENESTAR",
        "trabaja": True,
        "seguridad_social": False,
        "afore": False,
        "pension_contributiva": False,
        "pension_no_contributiva": False,
        "ingreso_trabajo": Decimal("4500.00"),
        "ingreso_transferencias": Decimal("0.00"),
        "ingreso_programas": Decimal("1200.50"),
        "ingreso_otros": Decimal("0.00"),
        "discapacidad": None,
        "indigena": True,
    }
    value.update(overrides)
    return value


def household(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "folio_hogar": "H-2025-000045",
        "fecha_levantamiento": date(2025, 2, 20),
        "cve_ent": "20",
        "cve_mun": "067",
        "cve_loc": "0012",
        "material_piso": "TIERRA",
        "material_techo": "LAMINA_CARTON",
        "material_muros": "MADERA",
        "cuartos_dormir": 1,
        "fuente_agua": "LLAVE_PUBLICA",
        "drenaje": "NO_TIENE",
        "electricidad": True,
        "combustible_cocina": "LENA_CARBON",
        "chimenea": False,
        **{f"inseg_alim_{i}": i % 2 == 0 for i in range(1, 7)},
        **{f"inseg_alim_{i}": None for i in range(7, 13)},
        "members": [member(), member(num_integrante=2, nombre="ANA", edad=9, parentesco="HIJO")],
    }
    value.update(overrides)
    return value


def survey_set() -> dict[str, Any]:
    return {**header(1), "households": [household()]}


def receipt(**overrides: Any) -> dict[str, Any]:
    value = {
        "receipt_id": "rcpt-0001",
        "agreement_id": "bienestar-pam-2025",
        "message_id": "7b1f8a52-0c43-4c36-9a53-3f1c2f0e9b11",
        "transaction_id": "entrega-2025-03-14-001",
        "issued_at": SENT,
        "status": "PARTIAL",
        "accepted_count": 499,
        "rejected_count": 1,
        "reason_code": None,
        "rejected": [
            {
                "reference_id": "PAM-000999",
                "reason_code": "CURP_INVALIDA",
                "field": "curp",
                "message": "la CURP no tiene 18 caracteres; corrija el registro y reenvíelo",
            }
        ],
    }
    value.update(overrides)
    return value


def quarantine_record() -> dict[str, Any]:
    return {
        "value": b"\x00\x00\x00\x00\x01garbage",
        "headers": [{"key": "sisi-signature", "value": b"\x01" * 64}, {"key": "x", "value": None}],
        "topic": "sisi.agreement.bienestar-pam-2025.changesets",
        "partition": 0,
        "offset": 42,
        "reason_code": "FIRMA_INVALIDA",
        "message": "la firma no corresponde a la llave del convenio",
        "field": None,
        "reference_id": None,
        "agreement_id": "bienestar-pam-2025",
        "received_at": SENT,
    }


def audit_record() -> dict[str, Any]:
    return {
        "sequence": 1,
        "recorded_at": SENT,
        "actor": "hub.registry-writer",
        "action": "ALTA_ACEPTADA",
        "agreement_id": "bienestar-pam-2025",
        "message_id": "7b1f8a52-0c43-4c36-9a53-3f1c2f0e9b11",
        "reference_id": "PAM-000123",
        "purpose": None,
        "details": {"items": "1"},
        "prev_hash": bytes(32),
        "entry_hash": b"\xab" * 32,
        "signature": b"\xcd" * 64,
    }


def coverage_cell(**overrides: Any) -> dict[str, Any]:
    value = {
        "period": "2025-03",
        "program": "S176",
        "cve_ent": "09",
        "cve_mun": "015",
        "breakdown": {"sexo": "M", "grupo_edad": "65+"},
        "beneficiaries": 1520,
        "suppression": "NONE",
        "amount": Decimal("9424000.00"),
    }
    value.update(overrides)
    return value


def program_catalog_entry() -> dict[str, Any]:
    return {
        "clave_programa": "S176",
        "nombre": "Pensión para el Bienestar de las Personas Adultas Mayores",
        "dependencia": "Secretaría de Bienestar",
        "orden_gobierno": "FEDERAL",
        "cve_ent": None,
        "description": "Apoyo económico bimestral a personas de 65 años o más.",
        "target_population": "Personas de 65 años o más",
        "eligibility_rule": "persona.edad >= 65",
        "benefit_types": ["MONETARIO"],
        "active": True,
        "updated_at": SENT,
    }


def compliance_scorecard() -> dict[str, Any]:
    return {
        "agreement_id": "bienestar-pam-2025",
        "dependencia": "Secretaría de Bienestar",
        "period": "2025-03",
        "deliveries": 4,
        "items_received": 2000,
        "items_accepted": 1990,
        "items_rejected": 10,
        "acceptance_rate": 0.995,
        "median_receipt_latency_ms": 850,
        "last_delivery_at": SENT,
        "on_time": True,
        "on_time_measured": True,
        "rejection_reasons": {"CURP_INVALIDA": 7, "FUERA_DE_ALCANCE": 3},
        "max_lag_hours": 240,
        "lag_seconds": 93600.0,
        "late_items": 0,
        "initial_items": 0,
        "curp_validity": 0.9965,
        "completeness": 0.998,
        "duplicate_ratio": 0.001,
        "refused_messages": {"ESQUEMA_NO_PERMITIDO": 1},
        "clock_ahead_messages": 1,
        "clock_ahead_max_seconds": 21600,
        "in_force": True,
        "computed_at": SENT,
    }


def audit_chain_head() -> dict[str, Any]:
    return {
        "sequence": 1024,
        "entry_hash": b"\xab" * 32,
        "signature": b"\xcd" * 64,
        "key_id": "hub-2025",
        "recorded_at": SENT,
        "published_at": SENT,
        "head_signature": b"\xef" * 64,
    }


#: subject -> factory of a valid record for its latest version
VALID: dict[str, Any] = {
    "mx.gob.sisi.padron.ChangeSet": change_set,
    "mx.gob.sisi.encuesta.SurveySet": survey_set,
    "mx.gob.sisi.hub.Receipt": receipt,
    "mx.gob.sisi.hub.QuarantineRecord": quarantine_record,
    "mx.gob.sisi.hub.AuditRecord": audit_record,
    "mx.gob.sisi.publico.CoverageCell": coverage_cell,
    "mx.gob.sisi.publico.ProgramCatalogEntry": program_catalog_entry,
    "mx.gob.sisi.publico.ComplianceScorecard": compliance_scorecard,
    "mx.gob.sisi.publico.AuditChainHead": audit_chain_head,
}
