"""Downstream consumers: open data exporter, public portal and example subscribers."""

from __future__ import annotations

__all__: list[str] = []
