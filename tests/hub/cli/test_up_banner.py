"""The demo line of ``sisi up``'s banner says what the demo agencies will do, and from where."""

from __future__ import annotations

from pathlib import Path

from hub.agreements import load_agreements
from hub.cli.demo_agencies import DemoAgency
from hub.cli.up import demo_banner
from hub.settings import REPO_ROOT


def _agencies(tmp_path: Path, delivered: list[int]) -> list[DemoAgency]:
    padrones = [a for a in load_agreements(REPO_ROOT / "agreements") if a.kind == "padron"]
    return [
        DemoAgency(agreement, tmp_path / agreement.id, 300, done)
        for agreement, done in zip(padrones, delivered, strict=False)
    ]


def test_the_banner_says_rounds_pause_and_how_many(tmp_path: Path) -> None:
    text = demo_banner(_agencies(tmp_path, [0, 0]), 30, 12, faults=True)
    assert text.startswith(
        "2; 12 rondas en esta corrida: en cada una, cada agencia envía su "
        "siguiente entrega (una tras otra), y 30 s de pausa entre rondas"
    )
    assert "desde" not in text  # a fresh start
    assert text.endswith("tras cada ronda, tres mensajes que el hub debe rechazar")
    assert "una entrega cada" not in text
    assert "1 ronda en" in demo_banner(_agencies(tmp_path, [0]), 2, 1, faults=False)


def test_where_the_demo_goes_on_is_each_agencys_next_delivery(tmp_path: Path) -> None:
    same = demo_banner(_agencies(tmp_path, [3, 3, 3]), 30, 12, faults=False)
    assert "; siguen desde la entrega 4" in same and "(" not in same.split("siguen")[1]
    # a run stopped mid-round: the first agency had sent its 4th, the others not; the first
    # lines printed are 'entrega 5' for it, so the banner must not say only 'desde la entrega 4'
    agencies = _agencies(tmp_path, [4, 3, 3])
    mixed = demo_banner(agencies, 30, 12, faults=False)
    ids = [a.agreement_id for a in agencies]
    assert mixed.endswith(f"; siguen desde la entrega 5 ({ids[0]}), 4 ({ids[1]}), 4 ({ids[2]})"), (
        mixed
    )
