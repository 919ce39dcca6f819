"""Whether an entry's stored idempotency key is the one the hub gives an entry with its content.

The key is not hashed into the chain: it only decides which events are skipped as already
logged. So whoever can write the database could move a key onto another entry (a message key
onto an agreement change, a compatibility-change key onto a contract entry...) and a later
event with that key would never be recorded. Every key the hub writes is a function of the
entry it belongs to, which this module checks:

* an entry of a message (agreement and message id): ``agreement|message|reference|ACTION``, or
  that with ``#n`` (n > 1) for the n-th refusal or relink of one reference in a set;
* an explicit key, by action: ``cuarentena:<id>:...`` (``QUARANTINE_REPLAYED``, its reference id
  is ``cuarentena:<id>``), ``convenio:<agreement>:<word>:<sha256>:<n>`` (``AGREEMENT_CHANGED``),
  ``contrato:<subject>:<version>:<sha256>`` (``CONTRACT_REGISTERED``),
  ``contrato-baja:<subject>:<version>:<sha256>:<word>`` (``CONTRACT_DELETED``),
  ``contrato-config:<subject>:<mode>:<n>`` (``CONTRACT_CONFIG_CHANGED``),
  ``convenio-vigente:<agreement>:<sha256>:<failed sha256>:<n>`` (``AGREEMENT_LOADED`` of a broken
  file whose last good version stays in force);
* no key at all on the other entries (a personal-data read, an agreement loaded...).

The formats are written in ``hub.worker.changes`` and ``hub.quarantine.replay``; a new format
there needs its rule here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from hub.audit.chain import Action, idempotency_key

__all__ = ["key_problem"]

_ACTIONS = frozenset(action.value for action in Action)
_NUMBERED = frozenset({Action.ITEM_REJECTED.value, Action.RECORD_RELINKED.value})
#: actions whose every entry the hub writes with an explicit key
_ALWAYS_KEYED = frozenset(
    {
        Action.QUARANTINE_REPLAYED.value,
        Action.AGREEMENT_CHANGED.value,
        Action.CONTRACT_REGISTERED.value,
        Action.CONTRACT_DELETED.value,
        Action.CONTRACT_CONFIG_CHANGED.value,
    }
)
_EXPLICIT = frozenset(
    {
        Action.AGREEMENT_LOADED.value,
        Action.QUARANTINE_REPLAYED.value,
        Action.AGREEMENT_CHANGED.value,
        Action.CONTRACT_REGISTERED.value,
        Action.CONTRACT_DELETED.value,
        Action.CONTRACT_CONFIG_CHANGED.value,
    }
)


def _message_shaped(key: str) -> bool:
    """Whether ``key`` has the form of a message's key (``...|...|...|ACTION[#n]``)."""
    parts = key.rsplit("|", 3)
    return len(parts) == 4 and parts[3].split("#", 1)[0] in _ACTIONS


def _details(text: str | Mapping[str, str]) -> Mapping[str, str]:
    if not isinstance(text, str):
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _explicit_ok(
    action: str, agreement_id: str | None, reference_id: str | None, details: Mapping[str, str]
) -> tuple[str, str] | None:
    """(prefix, what follows) an explicit key of ``action`` must have, from the entry's content;
    ``what follows`` is ``""`` (nothing), ``"digits"`` or ``"any"``."""
    subject, version, digest = details.get("subject"), details.get("version"), details.get("sha256")
    if action == Action.QUARANTINE_REPLAYED and reference_id:
        return f"{reference_id}:", "any"
    if action == Action.AGREEMENT_CHANGED and agreement_id and digest:
        word = {"alta": "alta", "modificacion": "modificacion", "modificación": "modificacion"}
        change = str(details.get("change", ""))
        return f"convenio:{agreement_id}:{word.get(change, change)}:{digest}:", "digits"
    if action == Action.AGREEMENT_LOADED and agreement_id and digest:
        failed = details.get("failed_sha256") or "ilegible"
        return f"convenio-vigente:{agreement_id}:{digest}:{failed}:", "digits"
    if action == Action.CONTRACT_REGISTERED and subject and version and digest:
        return f"contrato:{subject}:{version}:{digest}", ""
    if action == Action.CONTRACT_DELETED and subject and version and digest:
        return f"contrato-baja:{subject}:{version}:{digest}:", "any"
    if action == Action.CONTRACT_CONFIG_CHANGED and subject is not None:
        return f"contrato-config:{subject}:{details.get('compatibility', '')}:", "digits"
    return None


def key_problem(
    action: str,
    agreement_id: str | None,
    message_id: str | None,
    reference_id: str | None,
    details: str | Mapping[str, str],
    key: str | None,
) -> str | None:
    """Why ``key`` is not the key of an entry with this content (Spanish), or None when it is.

    ``details`` is the entry's details, as the stored JSON text or already parsed.
    """
    base = idempotency_key(agreement_id, message_id, reference_id, action)
    if key is not None and key == base:
        return None
    if action in _EXPLICIT and key is not None and not _message_shaped(key):
        rule = _explicit_ok(action, agreement_id, reference_id, _details(details))
        if rule is not None:
            prefix, rest = rule
            tail = key[len(prefix) :] if key.startswith(prefix) else None
            if tail is not None and (
                rest == "any" or (rest == "" and not tail) or (rest == "digits" and tail.isdigit())
            ):
                return None
        return (
            f"su clave de idempotencia ({key!r}) no corresponde a una entrada {action} con su "
            "contenido"
        )
    if key is None and action in _ALWAYS_KEYED:
        return f"no tiene clave de idempotencia y el hub siempre pone una a una entrada {action}"
    if base is not None:
        if key is None:
            return (
                f"no tiene clave de idempotencia y la de su contenido es {base!r}; un reenvío del "
                "mismo mensaje se registraría dos veces"
            )
        suffix = key[len(base) + 1 :] if key.startswith(base + "#") else ""
        numbered = suffix.isdigit() and not suffix.startswith("0") and int(suffix) > 1
        if action in _NUMBERED and numbered:
            return None
        return f"su clave de idempotencia ({key!r}) no es la que da su contenido ({base!r})"
    if key is None:
        return None
    return (
        f"tiene la clave de idempotencia {key!r}, pero el hub no pone clave a una entrada "
        f"{action} sin mensaje; esa clave haría que un evento posterior no se registre"
    )
