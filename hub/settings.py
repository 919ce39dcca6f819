"""Typed, frozen settings: every environment variable the project reads is declared here.

Variables (all optional):

- ``SISI_BOOTSTRAP_SERVERS``   Kafka bootstrap servers (default ``127.0.0.1:9092``).
- ``SISI_DATABASE_URL``        SQLAlchemy URL of the registry (default SQLite under the data dir).
- ``SISI_SCHEMA_REGISTRY_URL`` Schema Registry base URL (default the hub's own, ``http://127.0.0.1:8081``).
- ``SISI_REFERENCE_DATA``      INEGI/CONEVAL reference data directory (default ``../shared/data``
                               when it exists next to the checkout or the working directory).
- ``SISI_DATA_DIR``            Where the hub keeps local state (default ``./var``).
- ``SISI_KEYS_DIR``            Where private keys are written (default ``~/.config/sisi/keys``).
- ``SISI_AGREEMENTS_DIR``      Directory of agreement files (default ``<repo>/agreements``).
- ``SISI_SCHEMAS_DIR``         Directory of Avro contracts (default ``<repo>/avro_schemas``).
- ``SISI_REGISTRY_OPERATOR_TOKEN`` Bearer token the Schema Registry requires for writes
                               (register, config, delete); without it writes are refused.
- ``SISI_METRICS_PORT``        Port of a hub worker's Prometheus ``/metrics`` (default ``9100``).
- ``SISI_METRICS_HOST``        Address ``/metrics`` listens on (default ``127.0.0.1``, this machine
                               only; ``0.0.0.0`` when Prometheus scrapes from another host).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["REPO_ROOT", "Settings", "get_settings"]

#: The checkout this package was imported from (``hub/`` lives directly under it).
REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_reference_data() -> Path | None:
    """``../shared/data`` next to the checkout, or next to the working directory."""
    for base in (REPO_ROOT, Path.cwd()):
        candidate = (base / ".." / "shared" / "data").resolve()
        if candidate.is_dir():
            return candidate
    return None


class Settings(BaseSettings):
    """Runtime configuration, read once from the environment (prefix ``SISI_``)."""

    model_config = SettingsConfigDict(env_prefix="SISI_", frozen=True, extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    database_url: SecretStr | None = None
    schema_registry_url: str = "http://127.0.0.1:8081"
    reference_data: Path | None = Field(default_factory=_default_reference_data)
    data_dir: Path = Path("var")
    keys_dir: Path = Field(default_factory=lambda: Path.home() / ".config" / "sisi" / "keys")
    agreements_dir: Path = REPO_ROOT / "agreements"
    schemas_dir: Path = REPO_ROOT / "avro_schemas"
    registry_operator_token: SecretStr | None = None
    metrics_port: int = 9100
    metrics_host: str = "127.0.0.1"

    def resolved_database_url(self) -> str:
        """The registry URL; SQLite in the data directory unless ``SISI_DATABASE_URL`` is set."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'registry.sqlite3').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings`` instead)."""
    return Settings()
