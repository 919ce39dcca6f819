"""The compact locality table answers exactly as a dict by CVEGEO did, sorted source or not."""

from __future__ import annotations

import random

from hub.validation import GeoCatalog, Locality, Municipality, State


def _catalog(localities: list[Locality]) -> GeoCatalog:
    states = [State("01", "Aguascalientes", "AS", None), State("02", "Baja California", "BC", 1)]
    municipalities = [
        Municipality("01", "001", "Aguascalientes", 1),
        Municipality("02", "004", "Tijuana", 2),
    ]
    return GeoCatalog(states, municipalities, localities)


LOCALITIES = [
    Locality("01", "001", "0001", "Aguascalientes", "URBANO", 863893),
    Locality("01", "001", "0106", "Arellano", "RURAL", None),
    Locality("01", "001", "0200", "Peñuelas (El Niágara)", None, 12),
    Locality("02", "004", "0001", "Tijuana", "URBANO", 1810645),
    Locality("02", "004", "0002", "", "RURAL", 0),
]


def test_lookups_on_a_sorted_source() -> None:
    catalog = _catalog(LOCALITIES)
    for loc in LOCALITIES:
        assert catalog.locality(loc.cvegeo) == loc
        assert catalog.ambito(loc.cvegeo) == loc.ambito
    assert catalog.localities_of("01", "001") == tuple(LOCALITIES[:3])
    assert catalog.localities_of("02", "004") == tuple(LOCALITIES[3:])
    assert catalog.localities_of("01", "002") == ()
    for absent in ("010010002", "10010001", "01001000A", "", "x", "0100100010"):
        assert catalog.locality(absent) is None
        assert catalog.ambito(absent) is None
    assert catalog.localities_of("1", "1") == ()
    assert catalog.localities_of("0a", "001") == ()


def test_an_unsorted_source_with_repeated_keys_answers_like_a_dict() -> None:
    again = Locality("01", "001", "0106", "Arellano (otra fila)", "URBANO", 5)
    shuffled = [*LOCALITIES, again]
    random.Random(7).shuffle(shuffled)
    catalog = _catalog(shuffled)
    by_key = {loc.cvegeo: loc for loc in shuffled}  # what the catalog used to hold: last wins
    for key, loc in by_key.items():
        assert catalog.locality(key) == loc
    # every row of the municipality, repeated ones included, in source order
    assert catalog.localities_of("01", "001") == tuple(
        loc for loc in shuffled if loc.cvegeo.startswith("01001")
    )


def test_unknown_locality_warning_uses_the_table() -> None:
    catalog = _catalog(LOCALITIES)
    key, issues = catalog.normalize_geography("1", "1", "106")
    assert key is not None and key.cvegeo == "010010106" and issues == []
    key, issues = catalog.normalize_geography("1", "1", "107")
    assert key is not None and [i.code for i in issues] == ["GEO_LOCALITY_NOT_IN_CATALOG"]
