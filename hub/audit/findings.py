"""What a verification of the audit chain finds: the kinds of problem and where each one is."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Break", "HeadRefusal", "Problem"]


class Problem(StrEnum):
    """Why an entry breaks the chain."""

    EDITED = "editada"
    DELETED = "borrada"
    REORDERED = "reordenada"
    FORGED = "falsificada"
    TRUNCATED = "truncada"


@dataclass(frozen=True)
class Break:
    """The first entry that can no longer be vouched for, and why (Spanish)."""

    sequence: int
    problem: Problem
    reason: str


@dataclass(frozen=True)
class HeadRefusal:
    """A published head that is not evidence of anything about the log (Spanish ``reason``):
    an old-form head whose unsigned sequence was changed. The log itself is not at fault."""

    sequence: int
    reason: str
