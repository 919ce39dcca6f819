"""What earlier ``sisi up`` runs left in the data directory: find it, and remove it on request.

``sisi up`` keeps its data between runs (the registry, the audit log, the agencies' snapshots and
outboxes, the demo's files), so a second ``sisi up --demo`` goes on where the first stopped.
``sisi up --reset`` removes it, after asking, to start from zero. The hub's signing key
(``keys/``) is kept: it is the hub's identity, and heads published with it stay checkable.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Final

from hub.errors import ConfigurationError

__all__ = ["RESET_ENTRIES", "previous_data", "remove_previous_data"]

#: What a run writes under the data directory and ``--reset`` removes (``keys/`` stays).
RESET_ENTRIES: Final = (
    "registry.sqlite3",
    "registry.sqlite3-wal",
    "registry.sqlite3-shm",
    "registry.sqlite3-journal",
    "producer",
    "demo",
    "faust",
    "broker.log",
)


def _has_content(path: Path) -> bool:
    if path.is_dir():
        return any(path.iterdir())
    return path.exists()


def previous_data(data_dir: Path) -> list[str]:
    """The entries of ``data_dir`` an earlier run left (empty: a fresh start)."""
    return [name for name in RESET_ENTRIES if _has_content(data_dir / name)]


def remove_previous_data(data_dir: Path, *, database_url: str) -> list[str]:
    """Remove what :func:`previous_data` finds; the names removed.

    Only the data directory's own SQLite registry can be removed: a registry elsewhere
    (``SISI_DATABASE_URL``, e.g. PostgreSQL) is refused, as it may be shared.
    """
    own = f"sqlite:///{(data_dir / 'registry.sqlite3').resolve()}"
    if database_url != own:
        raise ConfigurationError(
            "--reset sólo borra datos locales y la base del registro no está en "
            f"{data_dir} (SISI_DATABASE_URL={database_url.split('@')[-1]})",
            hint="vacíe esa base usted mismo, o quite SISI_DATABASE_URL para usar la SQLite "
            "local, y vuelva a intentar.",
        )
    removed: list[str] = []
    for name in previous_data(data_dir):
        path = data_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        removed.append(name)
    return removed
