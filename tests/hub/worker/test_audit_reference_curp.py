"""An agency that uses the CURP as its folio: the audit log names the item by a keyed digest.

The audit log cannot be erased and holds no personal data in clear (invariant 5); a padrón whose
``reference_id`` is the beneficiary's CURP must not put CURPs into ``audit_log.reference_id``
(nor into the idempotency keys built from it). The digest is the same on a redelivery (nothing
is logged twice) and ``sisi audit verify`` accepts the log.
"""

from __future__ import annotations

import re

from click.testing import CliRunner
from sqlalchemy import select

from hub.audit.pseudonym import REFERENCE_PREFIX, ReferenceMask
from hub.audit.store import audit_log
from hub.cli.main import cli
from hub.worker import KafkaMessage
from tests.hub.gatekeeper.changesets import PAM, change_set, item, sealed, topic_of
from tests.hub.gatekeeper.fixtures import Hub

_CURP = re.compile(r"[A-Z][AEIOUX][A-Z]{2}\d{6}[HMX][A-Z]{5}[0-9A-Z]\d")


def _by_curp(i: int, **extra: object) -> dict:  # type: ignore[type-arg]
    entry = item(i, **extra)
    entry["reference_id"] = entry["person"]["curp"]
    return entry


def _audit_text(hub: Hub) -> list[str]:
    with hub.engine.connect() as conn:
        rows = conn.execute(select(audit_log)).all()
    return [str(value) for row in rows for value in row if isinstance(value, str)]


def test_a_curp_used_as_folio_never_reaches_the_audit_log(hub: Hub) -> None:
    items = [_by_curp(1), _by_curp(2), _by_curp(3, fecha_nacimiento=None)]  # the third: refused
    curps = [i["reference_id"] for i in items]
    record = change_set(PAM, items)
    value, headers = sealed(hub.engine, record)
    message = KafkaMessage(topic_of(PAM), 0, 0, value, tuple(headers))
    outcome = hub.pipeline.process(message)
    assert outcome.status == "PARTIAL", outcome
    texts = _audit_text(hub)
    assert not [t for t in texts if _CURP.search(t)], "a CURP is in the audit log"
    mask = hub.pipeline.audit.reference_mask
    with hub.engine.connect() as conn:
        refs = {
            row.reference_id: row.action
            for row in conn.execute(
                select(audit_log.c.reference_id, audit_log.c.action).where(
                    audit_log.c.message_id == record["message_id"]
                )
            )
        }
    assert refs == {
        mask(curps[0]): "ITEM_ACCEPTED",
        mask(curps[1]): "ITEM_ACCEPTED",
        mask(curps[2]): "ITEM_REJECTED",
    }
    assert all(ref.startswith(REFERENCE_PREFIX) for ref in refs)
    # the agency's receipt still names its own folios
    assert outcome.verdict is not None
    assert {r.reference_id for r in outcome.verdict.rejected} == {curps[2]}

    before = len(texts)
    again = hub.pipeline.process(KafkaMessage(topic_of(PAM), 0, 1, value, tuple(headers)))
    assert again.kind == "replay"
    assert len(_audit_text(hub)) >= before  # the replay's own refusal entry, no item twice
    with hub.engine.connect() as conn:
        accepted = conn.execute(
            select(audit_log.c.sequence).where(audit_log.c.action == "ITEM_ACCEPTED")
        ).all()
    assert len(accepted) == 2

    env = {
        "SISI_DATABASE_URL": hub.settings.database_url.get_secret_value(),
        "SISI_DATA_DIR": str(hub.settings.data_dir),
        "SISI_AGREEMENTS_DIR": str(hub.settings.agreements_dir),
    }
    result = CliRunner().invoke(cli, ["audit", "verify"], env=env)
    assert result.exit_code == 0, result.output


def test_the_mask_leaves_folios_alone_and_is_keyed() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    one, other = (
        ReferenceMask(Ed25519PrivateKey.generate()),
        ReferenceMask(Ed25519PrivateKey.generate()),
    )
    curp = "GODE561231HDFRRN09"
    assert one("S176-0000001") == "S176-0000001"
    assert one("FOLIO-DE-VEINTE-CARACTERES") == "FOLIO-DE-VEINTE-CARACTERES"
    assert one(curp) == one(f" {curp.lower()} ") != curp
    assert one(curp) != other(curp)
    assert len(one(curp)) == len(REFERENCE_PREFIX) + 32
