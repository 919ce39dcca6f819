"""``sisi produce`` without ``--key`` signs a production agreement with the key ``sisi agreements
keygen --new`` wrote under ``SISI_KEYS_DIR``, checked against the agreement like any key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.agreements import Agreement, demo_private_key, load_agreement
from hub.agreements.keys import generate_keypair, public_key_of
from hub.errors import ConfigurationError, SignatureError
from hub.settings import REPO_ROOT
from producers.keys import signing_key

PAM = "CONV-BIENESTAR-PAM-2026"
SAMPLE = REPO_ROOT / "agreements" / "bienestar-pam.yaml"


def _production(tmp_path: Path, public_key: str) -> Agreement:
    text = SAMPLE.read_text(encoding="utf-8")
    demo_key = public_key_of(demo_private_key(PAM))
    assert text.count("environment: demo") == 1 and text.count(demo_key) == 1
    path = tmp_path / "pam.yaml"
    path.write_text(
        text.replace("environment: demo", "environment: produccion").replace(demo_key, public_key),
        encoding="utf-8",
    )
    return load_agreement(path)


def test_the_key_keygen_wrote_signs_without_key(tmp_path: Path) -> None:
    pem, public = generate_keypair()
    keys = tmp_path / "llaves"
    keys.mkdir()
    (keys / f"{PAM}.key").write_bytes(pem)
    key = signing_key(_production(tmp_path, public), keys_dir=keys)
    assert public_key_of(key) == public


def test_a_stored_key_of_another_agreement_is_refused_naming_the_file(tmp_path: Path) -> None:
    keys = tmp_path / "llaves"
    keys.mkdir()
    (keys / f"{PAM}.key").write_bytes(generate_keypair()[0])
    with pytest.raises(SignatureError, match="no corresponde") as info:
        signing_key(_production(tmp_path, generate_keypair()[1]), keys_dir=keys)
    assert info.value.path == str(keys / f"{PAM}.key")


def test_without_a_stored_key_the_agency_is_told_where_to_put_it(tmp_path: Path) -> None:
    keys = tmp_path / "vacio"
    with pytest.raises(ConfigurationError) as info:
        signing_key(_production(tmp_path, generate_keypair()[1]), keys_dir=keys)
    assert f"{keys}/{PAM}.key" in info.value.render() and "--key" in info.value.render()


def test_the_keys_dir_comes_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pem, public = generate_keypair()
    (tmp_path / f"{PAM}.key").write_bytes(pem)
    monkeypatch.setenv("SISI_KEYS_DIR", str(tmp_path))
    assert public_key_of(signing_key(_production(tmp_path, public))) == public


def test_a_demo_agreement_keeps_its_demo_key(tmp_path: Path) -> None:
    (tmp_path / f"{PAM}.key").write_bytes(generate_keypair()[0])
    key = signing_key(load_agreement(SAMPLE), keys_dir=tmp_path)
    assert public_key_of(key) == public_key_of(demo_private_key(PAM))
