"""Builds a :class:`HubPipeline` from settings: database, agreements, schemas, catalog, hub key."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine

from hub.agreements.loader import AgreementSet
from hub.audit.keys import load_or_create_hub_key
from hub.audit.store import AuditLog
from hub.contracts.catalog import load_catalog
from hub.db import make_engine, migrate
from hub.gatekeeper.schemas import StoreSchemas
from hub.schema_registry.seed import seed_from_catalog
from hub.schema_registry.store import SchemaStore
from hub.settings import Settings
from hub.validation.geography import GeoCatalog
from hub.worker.pipeline import HubPipeline
from hub.worker.publisher import Publisher
from hub.worker.removed import RemovalAwareGatekeeper
from hub.worker.versions import StoredVersions

__all__ = ["build_pipeline", "prepare_database"]


def prepare_database(settings: Settings) -> None:
    """Migrate the registry database and seed its schema registry from ``avro_schemas/``.

    Both are idempotent; ``sisi hub`` runs this once before starting its workers.
    """
    engine = make_engine(settings.resolved_database_url())
    try:
        migrate(engine)
        seed_from_catalog(SchemaStore(engine), load_catalog(settings.schemas_dir))
    finally:
        engine.dispose()


def build_pipeline(
    settings: Settings,
    publisher: Publisher,
    *,
    engine: Engine | None = None,
    agreements: AgreementSet | None = None,
    today: dt.date | None = None,
) -> HubPipeline:
    """A pipeline on the settings' database, agreements directory and reference data."""
    engine = engine or make_engine(settings.resolved_database_url())
    agreements = agreements or AgreementSet(settings.agreements_dir, StoredVersions(engine))
    schemas = StoreSchemas(engine)
    gatekeeper = RemovalAwareGatekeeper(
        agreements, schemas, GeoCatalog.load(settings.reference_data), today=today, engine=engine
    )
    audit = AuditLog(engine, load_or_create_hub_key(settings))
    return HubPipeline(engine, gatekeeper, schemas, audit, publisher)
