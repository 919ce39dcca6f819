"""The ``sisi`` command line: a thin layer over the packages' APIs."""

from __future__ import annotations

__all__: list[str] = []
