"""Canonical bytes of an audit entry: sorted-key compact JSON, UTF-8, UTC millisecond timestamps.

The form is fixed (it is hashed into every entry and anyone may recompute it):
``{"action":…,"actor":…,"agreement_id":…,"details":{…},"message_id":…,"purpose":…,
"recorded_at":"2024-05-01T12:00:00.123Z","reference_id":…,"sequence":N}``, exactly what
``json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` writes.
:class:`Canonicalizer` writes the same bytes without building a dict per entry: the field order
is fixed, strings go through the C string escaper and values that repeat within a batch (actor,
action, agreement, purpose, details, timestamp) are escaped once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from json.encoder import encode_basestring

__all__ = [
    "Canonicalizer",
    "canonical_bytes",
    "chain_hash",
    "format_timestamp",
    "normalize_timestamp",
]

_MEMO_LIMIT = 4096  # distinct repeated values kept per canonicalizer before it starts over


def normalize_timestamp(moment: datetime) -> datetime:
    """``moment`` in UTC, truncated to milliseconds; a naive datetime is taken as UTC."""
    if moment.tzinfo is UTC and moment.microsecond % 1000 == 0:
        return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def format_timestamp(moment: datetime) -> str:
    """``2024-05-01T12:00:00.123Z``: the timestamp form that goes into the canonical bytes."""
    moment = normalize_timestamp(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def chain_hash(prev_hash: bytes, canonical: bytes) -> bytes:
    """``SHA-256(prev_hash || canonical)``."""
    return hashlib.sha256(prev_hash + canonical).digest()


def _quote(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


class Canonicalizer:
    """Writes canonical bytes, remembering the escaped form of values that repeat.

    Not thread-safe; make one per batch or per verification run.
    """

    def __init__(self) -> None:
        self._strings: dict[str | None, str] = {None: "null"}
        self._details: dict[tuple[tuple[str, str], ...], str] = {}
        self._last_moment: datetime | None = None
        self._last_stamp = ""

    def stamp(self, moment: datetime) -> str:
        """The JSON string of ``moment`` (quoted), remembered for consecutive equal moments."""
        if moment != self._last_moment:
            self._last_moment = moment
            self._last_stamp = f'"{format_timestamp(moment)}"'
        return self._last_stamp

    def _repeated(self, value: str | None) -> str:
        quoted = self._strings.get(value)
        if quoted is None:
            if len(self._strings) > _MEMO_LIMIT:
                self._strings = {None: "null"}
            quoted = self._strings[value] = _quote(value)
        return quoted

    def details(self, details: Mapping[str, str]) -> str:
        """``details`` as compact JSON with sorted keys (also what the store keeps as text)."""
        items = tuple(details.items())
        text = self._details.get(items)
        if text is None:
            quote = encode_basestring
            pairs = ",".join(f"{quote(key)}:{quote(details[key])}" for key in sorted(details))
            text = "{" + pairs + "}"
            if len(self._details) > _MEMO_LIMIT:
                self._details = {}
            self._details[items] = text
        return text

    def encode(
        self,
        sequence: int,
        stamp: str,
        actor: str,
        action: str,
        agreement_id: str | None,
        message_id: str | None,
        reference_id: str | None,
        purpose: str | None,
        details: Mapping[str, str],
    ) -> tuple[bytes, str]:
        """Canonical bytes (``stamp`` from :meth:`stamp`) and the details JSON they contain."""
        repeated = self._repeated
        details_text = self.details(details)
        text = (
            f'{{"action":{repeated(action)},"actor":{repeated(actor)},'
            f'"agreement_id":{repeated(agreement_id)},"details":{details_text},'
            f'"message_id":{_quote(message_id)},"purpose":{repeated(purpose)},'
            f'"recorded_at":{stamp},"reference_id":{_quote(reference_id)},"sequence":{sequence:d}}}'
        )
        return text.encode("utf-8"), details_text


def canonical_bytes(
    *,
    sequence: int,
    recorded_at: datetime,
    actor: str,
    action: str,
    agreement_id: str | None,
    message_id: str | None,
    reference_id: str | None,
    purpose: str | None,
    details: Mapping[str, str],
) -> bytes:
    """Deterministic bytes of an entry: sorted-key compact JSON in UTF-8, UTC millisecond time."""
    canon = Canonicalizer()
    return canon.encode(
        sequence,
        canon.stamp(recorded_at),
        actor,
        action,
        agreement_id,
        message_id,
        reference_id,
        purpose,
        details,
    )[0]
