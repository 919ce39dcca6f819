"""Compatibility modes of a subject, as the Confluent Schema Registry names them."""

from __future__ import annotations

from enum import StrEnum

from hub.errors import ContractError

__all__ = ["DEFAULT_MODE", "CompatibilityMode", "parse_mode"]


class CompatibilityMode(StrEnum):
    """Which earlier versions a new schema must stay compatible with, and in which direction."""

    NONE = "NONE"
    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"

    @property
    def transitive(self) -> bool:
        """Checked against every earlier version, not only the latest."""
        return self.value.endswith("_TRANSITIVE")

    @property
    def backward(self) -> bool:
        """A reader with the new schema must read data written with the earlier ones."""
        return self.value.startswith(("BACKWARD", "FULL"))

    @property
    def forward(self) -> bool:
        """A reader with an earlier schema must read data written with the new one."""
        return self.value.startswith(("FORWARD", "FULL"))


#: The project's default: the hub is upgraded first and reads every earlier version.
DEFAULT_MODE = CompatibilityMode.BACKWARD_TRANSITIVE


def parse_mode(
    value: object, *, path: str | None = None, line: int | None = None
) -> CompatibilityMode:
    """``value`` as a mode (case-insensitive), or a ``ContractError`` listing the valid ones."""
    text = str(value).strip().upper()
    try:
        return CompatibilityMode(text)
    except ValueError as exc:
        valid = ", ".join(mode.value for mode in CompatibilityMode)
        raise ContractError(
            f"modo de compatibilidad desconocido {value!r}",
            path=path,
            line=line,
            field="compatibility",
            hint=f"use uno de: {valid}.",
        ) from exc
