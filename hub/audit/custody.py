"""Which hub key signs which stretch of the audit chain: the chain of custody of the hub's key.

The hub's key can be rotated (``sisi audit rotate-key``, :mod:`hub.audit.rotation`). A rotation
is an entry of the log itself, ``HUB_KEY_ROTATED``, alone in its batch and signed with the key
it retires; its details name both keys in full (``previous_public_key``, ``new_public_key``)
and their ids. Every later batch is signed with the new key, and the stored head written with
the rotation is signed by the new key (its proof of possession, bound to that point of the
chain). So the custody is provable from the log: the first key signs up to its rotation, which
it signs itself, and so on.

A verifier walks the chain with :class:`Custody`: it starts from the key in force at entry 1,
checks each batch signature under the key in force at that entry, and moves on at each
rotation, which must name the key in force as the one it retires and be signed by it. Whatever
key the verifier trusts (:class:`HubKeys`), it must have signed something the walk checked: a
history that only *names* a trusted key proves nothing (anyone can write a key's public half).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.agreements.keys import public_key_from_str, public_key_to_str
from hub.audit.chain import Action, AuditEntry, AuditEvent
from hub.audit.headsig import fingerprint
from hub.audit.signing import signature_valid
from hub.errors import SignatureError

__all__ = [
    "Custody",
    "HubKeys",
    "KeyPeriod",
    "rotation_event",
    "rotation_keys",
    "unique_keys",
]

ROTATED = Action.HUB_KEY_ROTATED.value


@dataclass(frozen=True)
class HubKeys:
    """The keys a verification trusts, and where the walk starts.

    ``initial`` is the key in force at entry 1 (with rotations in the log, the key the first
    rotation retires). ``trusted``: at least one of them must sign something the walk checks.
    ``known``: more keys to name in messages (a signature by a retired key is told as such).
    """

    initial: Ed25519PublicKey
    trusted: tuple[Ed25519PublicKey, ...]
    known: tuple[Ed25519PublicKey, ...] = ()

    @classmethod
    def of(cls, key: Ed25519PublicKey | str) -> HubKeys:
        """One key, trusted and in force from the start (a log that was never rotated)."""
        public = public_key_from_str(key) if isinstance(key, str) else key
        return cls(public, (public,))


@dataclass(frozen=True)
class KeyPeriod:
    """A key and the first entry it signs (1, or the entry after the rotation that brought it)."""

    key: Ed25519PublicKey
    key_id: str
    first_sequence: int
    rotation_sequence: int | None = None  # the HUB_KEY_ROTATED entry that brought it in

    @classmethod
    def starting(cls, key: Ed25519PublicKey, first: int, rotation: int | None = None) -> KeyPeriod:
        return cls(key, fingerprint(key), first, rotation)


def rotation_event(
    actor: str, old_key: Ed25519PrivateKey, new_key: Ed25519PrivateKey, reason: str
) -> AuditEvent:
    """The ``HUB_KEY_ROTATED`` event that retires ``old_key`` for ``new_key``."""
    old_public, new_public = old_key.public_key(), new_key.public_key()
    return AuditEvent(
        actor=actor,
        action=Action.HUB_KEY_ROTATED,
        purpose=reason,
        details={
            "previous_public_key": public_key_to_str(old_public),
            "previous_key_id": fingerprint(old_public),
            "new_public_key": public_key_to_str(new_public),
            "new_key_id": fingerprint(new_public),
        },
    )


def rotation_keys(details: Mapping[str, str]) -> tuple[Ed25519PublicKey, Ed25519PublicKey]:
    """The (retired, new) keys a rotation entry names; ``ValueError`` (Spanish) when it does not
    name two valid, different keys."""
    keys = []
    for name in ("previous_public_key", "new_public_key"):
        text = details.get(name)
        if text is None:
            raise ValueError(f"no tiene el detalle {name}")
        try:
            keys.append(public_key_from_str(text))
        except SignatureError as exc:
            raise ValueError(f"su detalle {name} no es una llave Ed25519 válida") from exc
    old, new = keys
    if fingerprint(old) == fingerprint(new):
        raise ValueError("nombra la misma llave como anterior y nueva")
    return old, new


@dataclass
class Custody:
    """The key in force along a walk of the chain, and what was proven with which key."""

    keys: HubKeys
    periods: list[KeyPeriod] = field(default_factory=list)
    #: ids of keys whose signatures the walk (or a head check) found valid
    signers: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if not self.periods:
            self.periods.append(KeyPeriod.starting(self.keys.initial, 1))

    @property
    def in_force(self) -> KeyPeriod:
        return self.periods[-1]

    def rotation_problem(self, entry: AuditEntry) -> str | None:
        """Why the rotation ``entry`` cannot be taken (Spanish), or None; takes it when it can.

        The entry's signature is checked by the caller under the key in force *before* this
        rotation (it is the retired key's to sign); from ``entry.sequence + 1`` on, the new key
        is in force.
        """
        current = self.in_force
        where = f"la rotación de llave de la entrada {entry.sequence}"
        try:
            old, new = rotation_keys(entry.details)
        except ValueError as exc:
            return f"{where} {exc}; no es una rotación que el hub escriba"
        if fingerprint(old) != current.key_id:
            since = (
                "desde el inicio"
                if current.rotation_sequence is None
                else f"desde la rotación de la entrada {current.rotation_sequence}"
            )
            return (
                f"{where} dice retirar la llave {fingerprint(old)}, pero la llave en vigor es la "
                f"{current.key_id} ({since}): rotación falsificada, o se borró una rotación "
                "anterior"
            )
        if entry.signature is None:
            return (
                f"{where} no está firmada: el hub la escribe sola en su lote y la firma con la "
                f"llave que retira ({current.key_id}); rotación agregada por alguien más"
            )
        self.periods.append(KeyPeriod.starting(new, entry.sequence + 1, entry.sequence))
        return None

    def period_at(self, sequence: int) -> KeyPeriod:
        """The period whose key signs the batch that holds entry ``sequence``."""
        firsts = [period.first_sequence for period in self.periods]
        return self.periods[max(bisect_right(firsts, sequence) - 1, 0)]

    def head_keys(self, sequence: int, last_sequence: int) -> list[Ed25519PublicKey]:
        """Keys that may sign a head at ``sequence`` of a log walked up to ``last_sequence``.

        Within the log: the key in force at that entry, and at a rotation also the new key (the
        head written with the rotation is signed by it). Past the end of the log: every key the
        walk or the verifier knows, since the part that is missing may have held a rotation.
        """
        if sequence > last_sequence:
            return self.every_key()
        keys = [self.period_at(sequence).key]
        keys += [p.key for p in self.periods if p.rotation_sequence == sequence]
        return keys

    def every_key(self) -> list[Ed25519PublicKey]:
        """Every key of the walk and of the verifier, once each."""
        seen: dict[str, Ed25519PublicKey] = {}
        for key in (
            *(p.key for p in self.periods),
            *self.keys.trusted,
            *self.keys.known,
        ):
            seen.setdefault(fingerprint(key), key)
        return list(seen.values())

    def other_signer(self, data: bytes, signature: bytes, besides: Collection[str]) -> str | None:
        """The id of a known key, not one of ``besides``, whose signature ``signature`` is."""
        for key in self.every_key():
            key_id = fingerprint(key)
            if key_id not in besides and signature_valid(key, data, signature):
                return key_id
        return None

    def trusted_ids(self) -> list[str]:
        return [fingerprint(key) for key in self.keys.trusted]

    def proven(self) -> bool:
        """Whether a trusted key signed something the walk checked."""
        return any(key_id in self.signers for key_id in self.trusted_ids())

    def history(self) -> list[tuple[int, str, int | None]]:
        """(first sequence, key id, rotation entry) of each key of the walk, in order."""
        return [(p.first_sequence, p.key_id, p.rotation_sequence) for p in self.periods]


def unique_keys(keys: Iterable[Ed25519PublicKey]) -> tuple[Ed25519PublicKey, ...]:
    """``keys`` without repeats (by id), in order."""
    seen: dict[str, Ed25519PublicKey] = {}
    for key in keys:
        seen.setdefault(fingerprint(key), key)
    return tuple(seen.values())
