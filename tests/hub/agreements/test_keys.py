"""Ed25519 keys: text form, sign and verify, tampering, private key files, demo keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hub.agreements import (
    demo_private_key,
    generate_keypair,
    key_id,
    load_private_key,
    public_key_from_str,
    public_key_to_str,
    sign,
    verify,
)
from hub.agreements.keys import public_key_of
from hub.errors import ConfigurationError, SignatureError

DATA = b'{"agreement_id": "CONV-BIENESTAR-PAM-2026", "items": 500}'


def test_generate_sign_verify_round_trip(tmp_path: Path) -> None:
    pem, public = generate_keypair()
    assert public.startswith("ed25519:")
    (tmp_path / "k.key").write_bytes(pem)
    private = load_private_key(tmp_path / "k.key")
    assert public_key_of(private) == public
    signature = sign(private, DATA)
    assert len(signature) == 64
    assert verify(public, DATA, signature)


def test_tampering_is_detected() -> None:
    private = demo_private_key("CONV-BIENESTAR-PAM-2026")
    public = public_key_of(private)
    signature = sign(private, DATA)
    assert not verify(public, DATA.replace(b"500", b"501"), signature)
    assert not verify(public, DATA, bytes([signature[0] ^ 1]) + signature[1:])
    other = public_key_of(demo_private_key("CONV-LEON-JEFAS-2026"))
    assert not verify(other, DATA, signature)


def test_text_form_round_trip_and_errors() -> None:
    public = public_key_of(demo_private_key("X-1"))
    assert public_key_to_str(public_key_from_str(public)) == public
    for bad, words in [
        ("rsa:AAAA", "ed25519:"),
        ("ed25519:***", "base64"),
        ("ed25519:AAAA", "32 bytes"),
    ]:
        with pytest.raises(SignatureError, match=words):
            public_key_from_str(bad)
    with pytest.raises(SignatureError):
        verify("ed25519:AAAA", DATA, b"x" * 64)


def test_key_id_is_short_and_stable() -> None:
    public = public_key_of(demo_private_key("CONV-BIENESTAR-PAM-2026"))
    assert key_id(public) == key_id(public)
    assert len(key_id(public)) == 16
    assert key_id(public) != key_id(public_key_of(demo_private_key("CONV-LEON-JEFAS-2026")))


def test_demo_keys_are_deterministic_per_agreement() -> None:
    a = public_key_of(demo_private_key("CONV-BIENESTAR-PAM-2026"))
    assert a == public_key_of(demo_private_key("CONV-BIENESTAR-PAM-2026"))
    assert a == "ed25519:cpiM6YnPTX5c/xBoaFAHjuAoioFB3Oc+ViD5O0EUk8E="
    assert a != public_key_of(demo_private_key("CONV-BIENESTAR-PAM-2027"))


def test_load_private_key_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no existe") as info:
        load_private_key(tmp_path / "falta.key")
    assert info.value.hint and "keygen" in info.value.hint

    garbage = tmp_path / "basura.key"
    garbage.write_text("no es una clave\n")
    with pytest.raises(ConfigurationError, match="PEM"):
        load_private_key(garbage)

    wrong = tmp_path / "ec.key"
    wrong.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(ConfigurationError, match="no Ed25519"):
        load_private_key(wrong)

    with pytest.raises(ConfigurationError, match="no se pudo leer"):
        load_private_key(tmp_path)  # a directory
