"""The agency side: turn a padrón file or live updates into signed change sets."""

from __future__ import annotations

__all__: list[str] = []
