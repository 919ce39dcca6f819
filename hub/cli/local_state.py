"""What earlier ``sisi up`` runs left in the data directory: find it, and remove it on request.

``sisi up`` keeps its data between runs (the registry, the audit log, the agencies' snapshots and
outboxes, the demo's files), so a second ``sisi up --demo`` goes on where the first stopped.
``sisi up --reset`` removes it, after asking, to start from zero. The hub's signing key
(``keys/``) is kept: it is the hub's identity, and heads published with it stay checkable.

One ``sisi up`` at a time per data directory (:func:`hold_data_dir`): a second stack on the same
directory would run a second hub on the same SQLite file and a second set of demo agencies over
the same snapshots, and a ``--reset`` would delete the data of the stack still running.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from hub.errors import ConfigurationError

__all__ = [
    "LOCK_FILE",
    "RESET_ENTRIES",
    "DataDirInUseError",
    "hold_data_dir",
    "previous_data",
    "remove_previous_data",
]

#: The file inside the data directory a running ``sisi up`` holds locked (and writes its PID in).
LOCK_FILE: Final = "sisi-up.lock"


class DataDirInUseError(ConfigurationError):
    """Another running ``sisi up`` holds the data directory."""


def _holder(lock_path: Path) -> int | None:
    try:
        text = lock_path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


@contextmanager
def hold_data_dir(data_dir: Path) -> Iterator[Path]:
    """Hold ``data_dir`` for this process: an exclusive ``flock`` on its :data:`LOCK_FILE`.

    The lock belongs to the open file, not to the file's presence: the operating system releases
    it when the process ends however it ends (even SIGKILL), so a stale lock file never blocks a
    later run. The descriptor is not inherited by child processes (Python's default), so a worker
    that outlives a killed ``sisi up`` does not keep the directory held. Refuses at once, with
    :class:`DataDirInUseError`, when another process holds it.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    lock_path = data_dir / LOCK_FILE
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _holder(lock_path)
            who = f"(pid {pid})" if pid is not None else "(pid desconocido)"
            raise DataDirInUseError(
                f"la carpeta de datos {data_dir} ya la usa otro 'sisi up' en marcha {who}; dos "
                "pilas sobre los mismos datos compartirían el registro y las bandejas de las "
                "agencias, y --reset borraría los datos de la que sigue en marcha",
                hint="deténgalo primero (Ctrl-C en su terminal"
                + (f", o kill {pid}" if pid is not None else "")
                + "), o use otra carpeta de datos para esta pila: "
                "SISI_DATA_DIR=/otra/carpeta sisi up …",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield lock_path
    finally:
        os.close(fd)  # releases the lock (the file stays: its presence means nothing)


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
