"""The hub's Confluent-compatible Schema Registry: store, REST API and server."""

from __future__ import annotations

from hub.schema_registry.api import CONTENT_TYPE, create_app
from hub.schema_registry.errors import (
    InvalidCompatibilityError,
    InvalidSchemaError,
    InvalidVersionError,
    RegistryError,
    SchemaNotFoundError,
    SubjectConfigNotFoundError,
    SubjectNotFoundError,
    SubjectNotSoftDeletedError,
    SubjectSoftDeletedError,
    VersionNotFoundError,
    VersionNotSoftDeletedError,
    VersionSoftDeletedError,
)
from hub.schema_registry.seed import SeedResult, seed_from_catalog
from hub.schema_registry.server import RunningRegistry, open_store, running_registry, serve
from hub.schema_registry.store import RegisteredSchema, SchemaStore, StoredSchema

__all__ = [
    "CONTENT_TYPE",
    "InvalidCompatibilityError",
    "InvalidSchemaError",
    "InvalidVersionError",
    "RegisteredSchema",
    "RegistryError",
    "RunningRegistry",
    "SchemaNotFoundError",
    "SchemaStore",
    "SeedResult",
    "StoredSchema",
    "SubjectConfigNotFoundError",
    "SubjectNotFoundError",
    "SubjectNotSoftDeletedError",
    "SubjectSoftDeletedError",
    "VersionNotFoundError",
    "VersionNotSoftDeletedError",
    "VersionSoftDeletedError",
    "create_app",
    "open_store",
    "running_registry",
    "seed_from_catalog",
    "serve",
]
