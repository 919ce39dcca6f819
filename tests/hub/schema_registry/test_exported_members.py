"""The public API of the contract and registry packages: every exported name exists."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "hub.contracts",
        "hub.contracts.catalog",
        "hub.contracts.compatibility",
        "hub.contracts.wire",
        "hub.schema_registry",
        "hub.schema_registry.store",
        "hub.schema_registry.api",
        "hub.schema_registry.server",
    ],
)
def test_all_names_exist(module: str) -> None:
    loaded = importlib.import_module(module)
    assert loaded.__all__ == sorted(loaded.__all__, key=lambda n: (not n.isupper(), n))
    for name in loaded.__all__:
        assert hasattr(loaded, name), f"{module}.{name}"
