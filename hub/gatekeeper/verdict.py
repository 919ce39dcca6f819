"""What the gatekeeper decides about one Kafka message: a set-level refusal or per-item outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from hub.agreements.model import Agreement
from hub.registry.items import ChangeItem, ChangeSetHeader

__all__ = ["CurpState", "ItemQuality", "Refusal", "RejectedItem", "Verdict"]

CurpState = Literal["valid", "invalid", "absent"]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the whole change set was refused."""

    code: str
    message: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class RejectedItem:
    """One refused item: its reference, the (first) reason, the field and a Spanish message."""

    reference_id: str
    code: str
    message: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class ItemQuality:
    """Quality facts of one item for compliance (no personal data)."""

    curp: CurpState
    required_expected: int
    required_present: int
    duplicate: bool
    lag_seconds: float


@dataclass(frozen=True)
class Verdict:
    """The outcome of inspecting one message.

    ``authenticated`` is true once the signature verified with the agreement's key: only then is
    the message's identity (agreement, message_id) trusted. ``header`` and ``items`` are known
    when the body decoded (set-level refusals after authentication decode it for the receipt).
    """

    agreement_id: str | None
    message_id: str
    agreement: Agreement | None = None
    authenticated: bool = False
    refusal: Refusal | None = None
    header: ChangeSetHeader | None = None
    subject: str | None = None
    version: int | None = None
    accepted: tuple[ChangeItem, ...] = ()
    rejected: tuple[RejectedItem, ...] = ()
    quality: tuple[ItemQuality, ...] = field(default=(), repr=False)
    item_count: int = 0

    @property
    def refused(self) -> bool:
        """Whether the whole change set was refused."""
        return self.refusal is not None

    @property
    def transaction_id(self) -> str:
        """The delivery this change set belongs to ('' when unknown)."""
        return self.header["transaction_id"] if self.header is not None else ""

    def with_registry_rejections(self, rejected: Sequence[RejectedItem]) -> Verdict:
        """This verdict with items the registry refused moved from accepted to rejected."""
        if not rejected:
            return self
        refused = {r.reference_id for r in rejected}
        from dataclasses import replace

        return replace(
            self,
            accepted=tuple(i for i in self.accepted if i["reference_id"] not in refused),
            rejected=self.rejected + tuple(rejected),
        )
