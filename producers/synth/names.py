"""Mexican name pools with approximate frequencies, for synthetic padrones (general knowledge).

Weights are relative frequencies (roughly per 10,000 people) in the spirit of RENAPO/INEGI name
statistics; they only need to give a realistic shape (a few very common surnames, a long tail,
particles such as DE LA CRUZ, compound given names, Ñ). Spellings are upper case without accents,
as the CURP registry writes them; Ñ is kept.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "FEMALE_NAMES",
    "MALE_NAMES",
    "NO_SECOND_SURNAME_SHARE",
    "SURNAMES",
    "spelling_variants",
]

#: (surname, weight). The first dozen cover about a third of the population.
SURNAMES: Final[tuple[tuple[str, int], ...]] = (
    ("HERNANDEZ", 550), ("GARCIA", 420), ("MARTINEZ", 380), ("LOPEZ", 360),
    ("GONZALEZ", 350), ("PEREZ", 270), ("RODRIGUEZ", 260), ("SANCHEZ", 250),
    ("RAMIREZ", 230), ("CRUZ", 170), ("FLORES", 160), ("GOMEZ", 160),
    ("MORALES", 130), ("VAZQUEZ", 130), ("JIMENEZ", 120), ("REYES", 120),
    ("DIAZ", 120), ("TORRES", 110), ("GUTIERREZ", 100), ("RUIZ", 100),
    ("MENDOZA", 100), ("AGUILAR", 100), ("ORTIZ", 90), ("MORENO", 90),
    ("CASTILLO", 90), ("ROMERO", 80), ("ALVAREZ", 80), ("MENDEZ", 80),
    ("CHAVEZ", 80), ("RIVERA", 70), ("JUAREZ", 70), ("RAMOS", 70),
    ("DOMINGUEZ", 70), ("HERRERA", 70), ("MEDINA", 70), ("CASTRO", 60),
    ("VARGAS", 60), ("GUZMAN", 60), ("VELAZQUEZ", 60), ("MUÑOZ", 60),
    ("ROJAS", 50), ("DE LA CRUZ", 50), ("CONTRERAS", 50), ("SALAZAR", 50),
    ("LUNA", 50), ("ORTEGA", 50), ("SANTIAGO", 50), ("GUERRERO", 50),
    ("BAUTISTA", 50), ("CORTES", 50), ("ESTRADA", 40), ("SOTO", 40),
    ("ALVARADO", 40), ("ESPINOZA", 40), ("LARA", 40), ("AVILA", 40),
    ("RIOS", 40), ("CERVANTES", 40), ("SILVA", 40), ("DELGADO", 40),
    ("VEGA", 40), ("MARQUEZ", 40), ("SANDOVAL", 40), ("FERNANDEZ", 40),
    ("LEON", 40), ("CARRILLO", 40), ("MEJIA", 30), ("SOLIS", 30),
    ("NUÑEZ", 30), ("ROSAS", 30), ("VALDEZ", 30), ("IBARRA", 30),
    ("CAMPOS", 30), ("SANTOS", 30), ("CAMACHO", 30), ("NAVARRO", 30),
    ("PEÑA", 30), ("MALDONADO", 30), ("ROSALES", 30), ("ACOSTA", 30),
    ("MIRANDA", 30), ("TREJO", 30), ("CABRERA", 30), ("VALENCIA", 30),
    ("NAVA", 30), ("ROBLES", 30), ("MOLINA", 30), ("SALINAS", 30),
    ("FUENTES", 30), ("PACHECO", 30), ("ESPINOSA", 30), ("RANGEL", 20),
    ("VELASCO", 20), ("OROZCO", 20), ("ZUÑIGA", 20), ("DEL ANGEL", 20),
    ("DE LOS SANTOS", 20), ("DE LA ROSA", 20), ("GALLEGOS", 20), ("ACEVEDO", 20),
    ("AVALOS", 20), ("BECERRA", 20), ("BENITEZ", 20), ("CARDENAS", 20),
    ("CORONA", 20), ("ESCOBAR", 20), ("FIGUEROA", 20), ("GALINDO", 20),
    ("GALVAN", 20), ("HUERTA", 20), ("LOZANO", 20), ("MARIN", 20),
    ("MATA", 20), ("MONTES", 20), ("OCHOA", 20), ("PADILLA", 20),
    ("PALACIOS", 20), ("QUINTERO", 20), ("SERRANO", 20), ("TAPIA", 20),
    ("VILLEGAS", 20), ("ZAMORA", 20), ("ARELLANO", 15), ("BRAVO", 15),
    ("CARRASCO", 15), ("CUEVAS", 15), ("DURAN", 15), ("ESQUIVEL", 15),
    ("FRANCO", 15), ("GODINEZ", 15), ("LUGO", 15), ("MACIAS", 15),
    ("OLVERA", 15), ("PINEDA", 15), ("QUIROZ", 15), ("SALAS", 15),
    ("TOLEDO", 15), ("URIBE", 15), ("VILLANUEVA", 15), ("ZAVALA", 15),
    ("XOCHIHUA", 5), ("CANUL", 10), ("CHAN", 10), ("PECH", 8), ("UC", 5),
    ("HUITRON", 5), ("TZUC", 4), ("YAÑEZ", 10), ("OCAÑA", 6), ("BRISEÑO", 6),
)

#: Given names for women, including compound ones (the CURP skips a leading MARIA/MA.).
FEMALE_NAMES: Final[tuple[tuple[str, int], ...]] = (
    ("MARIA GUADALUPE", 300), ("MARIA", 200), ("GUADALUPE", 150), ("JUANA", 100),
    ("MARGARITA", 100), ("PATRICIA", 90), ("MARIA DEL CARMEN", 80), ("ROSA MARIA", 80),
    ("MARIA DE LOS ANGELES", 80), ("VERONICA", 80), ("ALEJANDRA", 80), ("LETICIA", 70),
    ("ELIZABETH", 70), ("GABRIELA", 70), ("MA. DEL CARMEN", 60), ("ANA MARIA", 60),
    ("LAURA", 60), ("MARIA ELENA", 60), ("ADRIANA", 60), ("YOLANDA", 60),
    ("SILVIA", 60), ("MARTHA", 60), ("ROSA", 60), ("CLAUDIA", 60), ("SOFIA", 60),
    ("DANIELA", 60), ("TERESA", 50), ("ANTONIA", 50), ("FRANCISCA", 50), ("LUCIA", 50),
    ("ISABEL", 50), ("ARACELI", 50), ("XIMENA", 50), ("VALENTINA", 50), ("CAMILA", 50),
    ("FERNANDA", 50), ("ANDREA", 50), ("MARIANA", 50), ("MONICA", 50), ("ALICIA", 50),
    ("JOSEFINA", 50), ("CARMEN", 50), ("SANDRA", 50), ("REGINA", 40), ("KARLA", 40),
    ("DIANA", 40), ("ESPERANZA", 40), ("BRENDA", 40), ("ROCIO", 40), ("IRMA", 40),
    ("NORMA", 40), ("SUSANA", 40), ("BEATRIZ", 40), ("LUZ MARIA", 40), ("MARIA JOSE", 40),
    ("ANA", 40), ("PAOLA", 40), ("MA. GUADALUPE", 30), ("GUILLERMINA", 30),
    ("JESSICA", 30), ("NAYELI", 30), ("ITZEL", 30), ("ESTRELLA", 20), ("CONCEPCION", 30),
    ("PETRA", 20), ("OFELIA", 20), ("EUGENIA", 20), ("MARIA DE JESUS", 30), ("NATALIA", 30),
    ("AURORA", 20), ("EVA", 20), ("LORENA", 30), ("IVONNE", 15), ("MAGDALENA", 25),
    ("ZOILA", 5), ("XOCHITL", 15), ("CITLALI", 15), ("NOEMI", 20), ("ROSALBA", 20),
)

#: Given names for men.
MALE_NAMES: Final[tuple[tuple[str, int], ...]] = (
    ("JOSE LUIS", 250), ("JUAN", 200), ("MIGUEL ANGEL", 150), ("JOSE", 150),
    ("JUAN CARLOS", 120), ("FRANCISCO", 120), ("JESUS", 120), ("ANTONIO", 120),
    ("ALEJANDRO", 100), ("PEDRO", 80), ("MANUEL", 80), ("JORGE", 80), ("CARLOS", 80),
    ("RICARDO", 70), ("ROBERTO", 70), ("FERNANDO", 70), ("DANIEL", 70), ("JAVIER", 70),
    ("JOSE ANTONIO", 70), ("EDUARDO", 60), ("MARTIN", 60), ("RAUL", 60), ("SERGIO", 60),
    ("ARTURO", 60), ("RAFAEL", 60), ("JOSE MANUEL", 50), ("JUAN MANUEL", 50),
    ("LUIS", 50), ("MARIO", 50), ("ENRIQUE", 50), ("ALBERTO", 50), ("VICTOR MANUEL", 50),
    ("GERARDO", 50), ("OSCAR", 50), ("HECTOR", 50), ("SANTIAGO", 50), ("DIEGO", 50),
    ("ANGEL", 50), ("SALVADOR", 40), ("ANDRES", 40), ("RAMON", 40), ("ARMANDO", 40),
    ("MATEO", 40), ("SEBASTIAN", 40), ("LEONARDO", 40), ("EMILIANO", 40),
    ("JOSE DE JESUS", 40), ("FELIPE", 30), ("AGUSTIN", 30), ("IGNACIO", 30),
    ("GUILLERMO", 30), ("HUGO", 30), ("J. JESUS", 20), ("GUADALUPE", 20), ("MARCO ANTONIO", 40),
    ("LUIS ANGEL", 30), ("ISMAEL", 25), ("ERNESTO", 30), ("GABRIEL", 30), ("ISRAEL", 25),
    ("ALFREDO", 30), ("JULIO CESAR", 30), ("CRISTIAN", 25), ("URIEL", 15), ("GAEL", 25),
    ("ABRAHAM", 20), ("BENITO", 15), ("CUAUHTEMOC", 10), ("NICOLAS", 20), ("TOMAS", 20),
    ("ROGELIO", 25), ("EFRAIN", 15), ("PORFIRIO", 10), ("ZEFERINO", 5), ("IÑAKI", 5),
)

#: Share of people registered without a second surname (one parent on the birth record).
NO_SECOND_SURNAME_SHARE: Final = 0.015

#: Spelling pairs seen across deliveries of the same person (either direction). Only forms
#: whose CURP letters are the same (the CURP skips MARIA/MA. and JOSE/J. in compound names).
_VARIANTS: Final[dict[str, str]] = {
    "MARIA DEL CARMEN": "MA. DEL CARMEN",
    "MARIA GUADALUPE": "MA. GUADALUPE",
    "JOSE DE JESUS": "J. JESUS",
}


def spelling_variants(name: str) -> tuple[str, ...]:
    """Other ways the same given name is written in agency files (may be empty)."""
    out = [v for k, v in _VARIANTS.items() if k == name]
    out += [k for k, v in _VARIANTS.items() if v == name]
    return tuple(out)
