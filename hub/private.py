"""Files that hold personal data are readable by their owner only.

The registry (SQLite), each agency's state database (its padrón snapshot and outbox), rejection
reports and the hub's key live under the data directory. With the usual umask (022) they would be
readable by every user of the machine, who could then read people's data without going through
the audited commands (invariant 5). So the ``sisi`` command runs with umask 077, new directories
are 0700, and databases are created 0600 (SQLite gives its ``-wal``/``-shm`` files the database
file's mode); an existing one that others can read is narrowed when it is opened.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

__all__ = ["PRIVATE_UMASK", "private_database", "private_dir", "restrict_umask"]

#: No permission for group and others on anything the process creates.
PRIVATE_UMASK = 0o077

_log = logging.getLogger(__name__)


def restrict_umask() -> None:
    """From now on, files and directories this process (and its children) create are private."""
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700; an existing directory is left as it is."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def private_database(path: Path) -> Path:
    """Make sure the SQLite file ``path`` and its companions are readable by the owner only.

    Creates an empty file with mode 0600 when there is none (SQLite takes an empty file as an
    empty database), so that the database is never readable by others, not even for a moment.
    """
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            _narrow(each)
    else:
        os.close(fd)
    return path


def _narrow(path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        try:
            path.chmod(mode & 0o700)
        except PermissionError:  # another user's file: say so, do not stop
            _log.warning(
                "%s es legible por otros usuarios (modo %o) y no se pudo restringir; "
                "ejecute chmod 600 sobre él",
                path,
                mode,
            )
            return
        _log.warning("%s era legible por otros usuarios (modo %o); ahora es 600", path, mode)
