"""Throughput of ``hub.validation.validate_item`` on realistic padrón items, on one core.

Run: ``python bench/bench_validation.py [items]``. Prints items/s for valid items and for items
with one error each (a mistyped CURP). Needs the INEGI reference data (``SISI_REFERENCE_DATA``).
The machine is shared, so each figure is the best of several passes (and the median is shown).
"""

from __future__ import annotations

import gc
import random
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal

from hub.validation import GeoCatalog, build_curp, curp_stem, validate_item
from hub.validation.curp_rules import RENAPO_STATES

__all__ = ["main", "make_items"]


def _words(text: str) -> list[str]:
    return text.split()


SURNAMES = [
    *_words("HERNÁNDEZ GARCÍA MARTÍNEZ LÓPEZ GONZÁLEZ RODRÍGUEZ PÉREZ SÁNCHEZ RAMÍREZ CRUZ"),
    *_words("FLORES GÓMEZ MORALES VÁZQUEZ REYES JIMÉNEZ TORRES DÍAZ GUTIÉRREZ RUIZ MENDOZA"),
    *_words("AGUILAR ORTIZ CASTILLO MORENO ROMERO ÁLVAREZ CHÁVEZ RIVERA JUÁREZ MUÑOZ NÚÑEZ"),
    "DE LA CRUZ",
    "DEL ÁNGEL",
    "DE LOS SANTOS",
    "MONTES DE OCA",
]
GIVEN = [
    *_words("JUAN JOSÉ MARÍA GUADALUPE FRANCISCO ANTONIO JESÚS ALEJANDRO MIGUEL PEDRO"),
    *_words("ROSA ANA FERNANDO VERÓNICA PATRICIA LAURA ELENA ALICIA LETICIA SERGIO RAÚL"),
    "MARÍA GUADALUPE",
    "JOSÉ LUIS",
    "MA. DE LA LUZ",
    "JUAN CARLOS",
    "MARÍA DEL CARMEN",
]
STATES = sorted(RENAPO_STATES)
TODAY = date(2025, 11, 1)


def make_items(count: int, catalog: GeoCatalog, seed: int = 7) -> list[dict[str, object]]:
    """``count`` valid ALTA items of distinct people living in places of the catalog."""
    rng = random.Random(seed)
    places = []
    for municipality in catalog.municipalities():
        localities = catalog.localities_of(municipality.cve_ent, municipality.cve_mun)
        places.append((municipality, localities[0].cve_loc if localities else None))
    items: list[dict[str, object]] = []
    for n in range(count):
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 30_000))
        sexo = rng.choice("HM")
        state = rng.choice(STATES)
        primer, segundo, nombre = rng.choice(SURNAMES), rng.choice(SURNAMES), rng.choice(GIVEN)
        homoclave = str(rng.randrange(10)) if born.year < 2000 else rng.choice("ABCDEF")
        curp = build_curp(curp_stem(primer, segundo, nombre, born, sexo, state), homoclave)
        municipality, loc = rng.choice(places)
        items.append(
            {
                "reference_id": f"R{n:08d}",
                "operation": "ALTA",
                "effective_date": date(2025, 1, 1),
                "curp": curp,
                "primer_apellido": primer,
                "segundo_apellido": segundo,
                "nombre": nombre,
                "fecha_nacimiento": born,
                "entidad_nacimiento": state,
                "sexo": sexo,
                "clave_programa": "S072",
                "tipo_beneficio": "MONETARIO",
                "monto": Decimal(rng.randrange(50_000, 500_000)) / 100,
                "fecha_beneficio": date(2025, 2, 1),
                "titular": True,
                "cve_ent": municipality.cve_ent,
                "cve_mun": municipality.cve_mun,
                "cve_loc": loc,
            }
        )
    return items


def _rates(
    items: list[dict[str, object]], catalog: GeoCatalog, passes: int
) -> tuple[list[float], int]:
    rates: list[float] = []
    issues = 0
    for _ in range(passes):
        issues = 0
        started = time.process_time()
        for item in items:
            issues += len(validate_item(item, catalog=catalog, today=TODAY))
        rates.append(len(items) / (time.process_time() - started))
    return rates, issues


def _report(label: str, items: list[dict[str, object]], catalog: GeoCatalog) -> None:
    rates, issues = _rates(items, catalog, passes=5)
    print(
        f"{label:14s} best {max(rates):>9,.0f} items/s, median {statistics.median(rates):>9,.0f}"
        f"  ({len(items):,} items, {issues:,} issues per pass)"
    )


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    catalog = GeoCatalog.load()
    items = make_items(count, catalog)
    # A mistyped CURP: two characters of the name part swapped (still well formed).
    broken = [dict(i, curp=_swap(str(i["curp"]))) for i in items[: count // 5]]
    # The gatekeeper validates chunks of a few hundred items; keep the big test set out of the GC.
    gc.collect()
    gc.freeze()
    _rates(items[:2000], catalog, passes=1)  # warm the memo tables, as a running gatekeeper has
    _report("valid items", items, catalog)
    _report("invalid items", broken, catalog)


def _swap(curp: str) -> str:
    return curp[0] + curp[2] + curp[1] + curp[3:]


if __name__ == "__main__":
    main()
