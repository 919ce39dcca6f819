"""SISI hub: gatekeeper, central registry, contracts and agreements of the data-exchange hub."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
