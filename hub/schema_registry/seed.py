"""Seed the registry from the contract catalog (idempotent)."""

from __future__ import annotations

from dataclasses import dataclass

from hub.contracts.catalog import Catalog
from hub.schema_registry.errors import SubjectNotFoundError
from hub.schema_registry.store import RegisteredSchema, SchemaStore

__all__ = ["SeedResult", "seed_from_catalog"]


@dataclass(frozen=True)
class SeedResult:
    """What a seed did: versions newly registered and versions already there."""

    registered: tuple[RegisteredSchema, ...]
    existing: tuple[RegisteredSchema, ...]


def seed_from_catalog(store: SchemaStore, catalog: Catalog) -> SeedResult:
    """Set each subject's mode from its ``subject.yaml`` and register its versions in order.

    Running it again changes nothing. A version that breaks its subject's mode against what the
    registry already holds raises ``IncompatibleSchemaError`` and stops the seed there.
    """
    registered: list[RegisteredSchema] = []
    existing: list[RegisteredSchema] = []
    for subject in catalog:
        try:
            current = store.get_config(subject.name, fallback=False)
        except SubjectNotFoundError:
            current = None
        if current is not subject.compatibility:
            store.set_config(subject.compatibility.value, subject.name)
        known = {schema.schema for schema in store.registered(subject.name)}
        for version in subject.versions:
            result = store.register(subject.name, version.canonical)
            (existing if result.schema in known else registered).append(result)
    return SeedResult(tuple(registered), tuple(existing))
