"""Schema Registry errors, each with its Confluent ``error_code`` and HTTP status."""

from __future__ import annotations

from hub.errors import ContractError

__all__ = [
    "InvalidCompatibilityError",
    "InvalidSchemaError",
    "InvalidVersionError",
    "RegistryError",
    "SchemaNotFoundError",
    "SubjectConfigNotFoundError",
    "SubjectNotFoundError",
    "SubjectNotSoftDeletedError",
    "SubjectSoftDeletedError",
    "VersionNotFoundError",
    "VersionNotSoftDeletedError",
    "VersionSoftDeletedError",
]


class RegistryError(ContractError):
    """Root of the registry's errors; ``http_status`` and ``error_code`` follow Confluent."""

    http_status: int = 500
    error_code: int = 50001


class SubjectNotFoundError(RegistryError):
    """The subject has no (live) versions."""

    http_status = 404
    error_code = 40401


class VersionNotFoundError(RegistryError):
    """The subject exists but not that version."""

    http_status = 404
    error_code = 40402


class SchemaNotFoundError(RegistryError):
    """No schema with that id, or the schema is not registered under the subject."""

    http_status = 404
    error_code = 40403


class SubjectSoftDeletedError(RegistryError):
    """A soft delete of a subject whose versions are all soft-deleted already."""

    http_status = 404
    error_code = 40404


class SubjectNotSoftDeletedError(RegistryError):
    """A permanent delete of a subject was asked before its soft delete."""

    http_status = 404
    error_code = 40405


class VersionSoftDeletedError(RegistryError):
    """A soft delete of a version that is soft-deleted already."""

    http_status = 404
    error_code = 40406


class VersionNotSoftDeletedError(RegistryError):
    """A permanent delete of a version was asked before its soft delete."""

    http_status = 404
    error_code = 40407


class SubjectConfigNotFoundError(RegistryError):
    """The subject has no compatibility level of its own (``GET /config/{subject}``)."""

    http_status = 404
    error_code = 40408


class InvalidSchemaError(RegistryError):
    """The schema text is not a valid Avro schema (or is not Avro)."""

    http_status = 422
    error_code = 42201


class InvalidVersionError(RegistryError):
    """A version is neither a positive integer nor ``latest``."""

    http_status = 422
    error_code = 42202


class InvalidCompatibilityError(RegistryError):
    """An unknown compatibility level."""

    http_status = 422
    error_code = 42203
