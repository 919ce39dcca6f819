"""Key rotation in agreements: ``public_keys`` with windows and revocations, and what verifies.

The hub judges a key by its own clock at inspection, never by the agency-written ``sent_at``.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.agreements import AgreementFileError, AgreementIssue, demo_private_key, load_agreement
from hub.agreements.keys import generate_keypair, key_id, load_private_key, public_key_of
from hub.agreements.model import KEY_DATE_ZONE
from hub.envelope import headers_dict, reseal, seal, verify_with_keys

from .conftest import Mutate, line_of

PAM = "CONV-BIENESTAR-PAM-2026"
DEMO = public_key_of(demo_private_key(PAM))
SINGLE = f"public_key: {DEMO}\n"


def _keys(block: str) -> str:
    return "public_keys:\n" + block


def issues_of(mutate: Mutate, new: str, **kwargs: str) -> tuple[tuple[AgreementIssue, ...], str]:
    path, text = mutate(SINGLE, new, **kwargs)
    with pytest.raises(AgreementFileError) as info:
        load_agreement(path)
    return info.value.issues, text


def test_the_single_key_form_is_one_key_for_the_whole_agreement(mutate: Mutate) -> None:
    path, _ = mutate("status: vigente", "status: vigente")
    agreement = load_agreement(path)
    (key,) = agreement.signing_keys
    assert (key.public_key, key.valid_from, key.valid_until, key.revoked_at) == (
        DEMO, None, None, None,
    )  # fmt: skip
    assert agreement.public_key == DEMO
    assert agreement.accepts_key(DEMO, datetime(1990, 1, 1, tzinfo=UTC))


def test_a_rotation_with_overlap_loads_and_dates_are_whole_days_in_central_time(
    mutate: Mutate,
) -> None:
    new = generate_keypair()[1]
    path, _ = mutate(
        SINGLE,
        _keys(
            f"  - key: {DEMO}\n    valid_from: 2026-01-01\n    valid_until: 2026-03-10\n"
            f"  - key: {new}\n    valid_from: 2026-03-01T10:00:00-06:00\n"
            "    note: rotación anual\n"
        ),
    )
    agreement = load_agreement(path)
    old_key, new_key = agreement.signing_keys
    assert old_key.valid_from == datetime(2026, 1, 1, tzinfo=KEY_DATE_ZONE)
    assert old_key.valid_until == datetime(2026, 3, 10, 23, 59, 59, 999999, tzinfo=KEY_DATE_ZONE)
    before = datetime(2026, 3, 1, 15, 59, tzinfo=UTC)  # 09:59 central time
    overlap = datetime(2026, 3, 5, tzinfo=UTC)
    after = datetime(2026, 3, 11, 6, 0, tzinfo=UTC)  # 00:00 of the 11th, central time
    assert agreement.keys_valid_at(before) == (old_key,)
    assert agreement.keys_valid_at(overlap) == (old_key, new_key)
    assert agreement.keys_valid_at(after) == (new_key,)
    assert agreement.accepts_key(DEMO, datetime(2026, 3, 11, 5, 59, tzinfo=UTC))
    # the dump shows the file's names (public_keys, and public_key only in the single form)
    dumped = agreement.model_dump(mode="json", exclude_none=True)
    assert "public_key" not in dumped and len(dumped["public_keys"]) == 2


@pytest.mark.parametrize(
    ("block", "field", "fragment", "words"),
    [
        (  # both forms
            "  - key: {new}\n    valid_from: 2026-01-01\n",
            "public_keys",
            "public_keys:",
            "no ambas",
        ),
        (  # a superseded key without end
            "  - key: {demo}\n    valid_from: 2026-01-01\n"
            "  - key: {new}\n    valid_from: 2026-03-01\n",
            "public_keys.0.valid_until",
            "  - key: {demo}",
            "sigue vigente sin fin",
        ),
        (  # a gap between two keys
            "  - key: {demo}\n    valid_from: 2026-01-01\n    valid_until: 2026-02-01\n"
            "  - key: {new}\n    valid_from: 2026-03-01\n",
            "public_keys.1.valid_from",
            "    valid_from: 2026-03-01",
            "hueco",
        ),
        (  # the same key twice
            "  - key: {demo}\n    valid_from: 2026-01-01\n    valid_until: 2026-02-01\n"
            "  - key: {demo}\n    valid_from: 2026-02-01\n",
            "public_keys.1.key",
            "  - key: {demo}\n    valid_from: 2026-02-01",
            "ya aparece",
        ),
        (  # three keys at once
            "  - key: {demo}\n    valid_from: 2026-01-01\n    valid_until: 2026-12-31\n"
            "  - key: {new}\n    valid_from: 2026-02-01\n    valid_until: 2026-12-31\n"
            "  - key: {third}\n    valid_from: 2026-03-01\n",
            "public_keys.2.valid_from",
            "    valid_from: 2026-03-01",
            "tres claves",
        ),
        (  # a time without zone
            "  - key: {demo}\n    valid_from: 2026-01-01T08:00:00\n",
            "public_keys.0.valid_from",
            "    valid_from: 2026-01-01T08",
            "zona horaria",
        ),
        (  # not a date
            "  - key: {demo}\n    valid_from: primero de enero\n",
            "public_keys.0.valid_from",
            "    valid_from: primero",
            "fecha inválida",
        ),
        (  # ends before it starts
            "  - key: {demo}\n    valid_from: 2026-02-01\n    valid_until: 2026-01-01\n",
            "public_keys.0.valid_until",
            "    valid_until: 2026-01-01",
            "termina antes de empezar",
        ),
        (  # revoked: false with a revocation date
            "  - key: {demo}\n    valid_from: 2026-01-01\n    revoked: false\n"
            "    revoked_at: 2026-02-01\n",
            "public_keys.0.revoked",
            "    revoked: false",
            "revoked_at",
        ),
        (  # an unknown field
            "  - key: {demo}\n    valid_from: 2026-01-01\n    expira: 2026-02-01\n",
            "public_keys.0.expira",
            "    expira:",
            "campo desconocido",
        ),
    ],
)
def test_malformed_key_lists_are_reported_with_line_field_and_what_to_do(
    mutate: Mutate, block: str, field: str, fragment: str, words: str
) -> None:
    new, third = generate_keypair()[1], generate_keypair()[1]
    values = {"demo": DEMO, "new": new, "third": third}
    prefix = SINGLE if words == "no ambas" else ""
    issues, text = issues_of(mutate, prefix + _keys(block.format(**values)))
    found = [i for i in issues if i.field == field]
    assert found, [i.render() for i in issues]
    assert found[0].line == line_of(text, fragment.format(**values))
    assert words in found[0].render()


def test_a_missing_key_is_reported(mutate: Mutate) -> None:
    issues, _text = issues_of(mutate, "")
    assert issues[0].field == "public_key"
    assert "falta la clave pública" in issues[0].message


def test_production_refuses_the_demo_key_in_any_entry_revoked_or_not(mutate: Mutate) -> None:
    new = generate_keypair()[1]
    block = _keys(
        f"  - key: {new}\n    valid_from: 2026-01-01\n    valid_until: 2026-03-10\n"
        f"  - key: {DEMO}\n    valid_from: 2026-03-01\n    revoked: true\n"
    )
    path, _text = mutate(SINGLE, block)
    production = path.read_text(encoding="utf-8").replace(
        "environment: demo", "environment: produccion"
    )
    path.write_text(production, encoding="utf-8")
    with pytest.raises(AgreementFileError) as info:
        load_agreement(path)
    (issue,) = info.value.issues
    assert issue.field == "public_keys.1.key"
    assert issue.line == line_of(production, f"  - key: {DEMO}")
    assert "clave de demostración" in issue.message


def _rotated(mutate: Mutate, old_extra: str = "", start: str = "2026-03-01") -> tuple:
    old_pem, _ = generate_keypair()
    new_pem, new = generate_keypair()
    folder = Path(tempfile.mkdtemp())
    (folder / "old.key").write_bytes(old_pem)
    (folder / "new.key").write_bytes(new_pem)
    old_key = load_private_key(folder / "old.key")
    new_key = load_private_key(folder / "new.key")
    path, _ = mutate(
        SINGLE,
        _keys(
            f"  - key: {public_key_of(old_key)}\n    valid_from: 2026-01-01\n"
            f"    valid_until: 2026-03-10\n{old_extra}"
            f"  - key: {new}\n    valid_from: {start}\n"
        ),
    )
    return load_agreement(path), old_key, new_key


def test_old_key_verifies_during_the_overlap_only_and_the_claimed_time_chooses_nothing(
    mutate: Mutate,
) -> None:
    agreement, old_key, new_key = _rotated(mutate)
    value = b"\x00\x00\x00\x00\x01cualquier cuerpo firmado"
    old = headers_dict(seal(old_key, PAM, "m-1", value).headers)
    new = headers_dict(seal(new_key, PAM, "m-1", value).headers)
    overlap = datetime(2026, 3, 5, tzinfo=UTC)
    after = datetime(2026, 3, 12, tzinfo=UTC)
    assert verify_with_keys(agreement.signing_keys, value, old, overlap).ok
    assert verify_with_keys(agreement.signing_keys, value, new, overlap).ok
    late = verify_with_keys(agreement.signing_keys, value, old, after)
    assert not late.ok and late.detail is not None
    assert "terminó" in late.detail and "sisi outbox resign" in late.detail
    assert verify_with_keys(agreement.signing_keys, value, new, after).ok
    # one changed byte fails whatever key
    bad = verify_with_keys(agreement.signing_keys, value + b"x", new, after)
    assert not bad.ok and "no corresponde" in (bad.detail or "")
    # a key id header naming another key does not stop the right key from verifying
    lying = {**old, "sisi-key-id": key_id(public_key_of(new_key)).encode()}
    assert verify_with_keys(agreement.signing_keys, value, lying, overlap).ok


@pytest.mark.parametrize("revocation", ["    revoked: true\n", "    revoked_at: 2026-03-03\n"])
def test_a_revoked_key_refuses_everything_from_then_on(mutate: Mutate, revocation: str) -> None:
    agreement, old_key, _new = _rotated(mutate, revocation)
    value = b"\x00\x00\x00\x00\x01cuerpo"
    old = headers_dict(seal(old_key, PAM, "m-2", value).headers)
    # within the key's window by date, but after the revocation (by the hub's clock)
    check = verify_with_keys(agreement.signing_keys, value, old, datetime(2026, 3, 5, tzinfo=UTC))
    assert not check.ok and "revocada" in (check.detail or "")
    before = verify_with_keys(agreement.signing_keys, value, old, datetime(2026, 2, 1, tzinfo=UTC))
    assert before.ok is (revocation != "    revoked: true\n")


def test_reseal_keeps_the_value_and_the_other_headers(mutate: Mutate) -> None:
    agreement, old_key, new_key = _rotated(mutate)
    value = b"\x00\x00\x00\x00\x01cuerpo"
    envelope = seal(old_key, PAM, "m-3", value)
    headers = reseal(new_key, [*envelope.headers, ("x-otro", b"1")], value)
    as_dict = headers_dict(headers)
    assert as_dict["sisi-message-id"] == b"m-3" and as_dict["x-otro"] == b"1"
    assert as_dict["sisi-key-id"] == key_id(public_key_of(new_key)).encode()
    after = datetime(2026, 3, 11, 6, tzinfo=UTC)
    assert verify_with_keys(agreement.signing_keys, value, as_dict, after).ok


def test_during_an_overlap_the_producer_signs_with_either_key(
    mutate: Mutate, tmp_path: Path
) -> None:
    from hub.agreements.keys import private_key_to_pem
    from hub.errors import SisiError
    from producers.keys import signing_key

    new_pem, new_public = generate_keypair()
    today = datetime.now(UTC).date()
    path, _ = mutate(
        SINGLE,
        _keys(
            f"  - key: {DEMO}\n    valid_from: 2020-01-01\n"
            f"    valid_until: {today.year + 1}-01-01\n"
            f"  - key: {new_public}\n    valid_from: 2020-06-01\n"
        ),
    )
    agreement = load_agreement(path)
    files = {
        "old": private_key_to_pem(demo_private_key(PAM)),
        "new": new_pem,
        "other": generate_keypair()[0],
    }
    paths = {}
    for name, pem in files.items():
        paths[name] = tmp_path / f"{name}.pem"
        paths[name].write_bytes(pem)
    assert public_key_of(signing_key(agreement, paths["old"])) == DEMO
    assert public_key_of(signing_key(agreement, paths["new"])) == new_public
    with pytest.raises(SisiError, match="ninguna clave pública vigente"):
        signing_key(agreement, paths["other"])
