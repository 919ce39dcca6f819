"""Package exports imported on first use (PEP 562 module ``__getattr__``).

A package whose ``__init__`` imported every public name made each process that needed one small
module pay for all of them: the producer's reading processes loaded the CEL engine, the YAML
loader, the Kafka client and the contract tooling (~24 MB each) without using any of it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, sources: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: each name in ``sources`` is imported from the
    module ``sources[name]`` the first time it is asked for, then kept in the package."""

    def get_export(name: str) -> Any:
        module = sources.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def list_exports() -> list[str]:
        return sorted({*vars(sys.modules[package]), *sources})

    return get_export, list_exports
