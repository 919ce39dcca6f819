"""Files with personal data are readable by their owner only (see ``hub.private``)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from sqlalchemy import text

from hub.db import make_engine
from hub.settings import REPO_ROOT, Settings
from producers.store import open_state

SISI = str(REPO_ROOT / ".venv" / "bin" / "sisi")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_registry_and_its_wal_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask: files readable by everyone
    try:
        path = tmp_path / "nuevo" / "registry.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
        with engine.begin() as conn:
            conn.execute(text("create table t (curp text)"))
            conn.execute(text("insert into t values ('HEGM450312MDFRRR05')"))
            assert _mode(path) == 0o600
            assert _mode(path.with_name("registry.sqlite3-wal")) == 0o600
        engine.dispose()
        assert _mode(path.parent) == 0o700
    finally:
        os.umask(old)


def test_an_existing_readable_database_is_narrowed_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("create table t (x int)"))
    engine.dispose()
    path.chmod(0o644)
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from t")).scalar_one() == 0
    engine.dispose()
    assert _mode(path) == 0o600


def test_agency_state_is_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        conn = open_state(Settings(data_dir=tmp_path / "var"), "CONV-BIENESTAR-PAM-2026")
        conn.close()
    finally:
        os.umask(old)
    state = tmp_path / "var" / "producer" / "CONV-BIENESTAR-PAM-2026.sqlite3"
    assert _mode(state) == 0o600
    assert _mode(state.parent) == 0o700


def test_the_sisi_command_creates_private_files(tmp_path: Path) -> None:
    out = tmp_path / "padron.txt"
    subprocess.run(
        [SISI, "synth", "padron", "--agreement", "CONV-BIENESTAR-PAM-2026", "--people", "5",
         "--seed", "1", "--out", str(out)],
        check=True, capture_output=True, preexec_fn=lambda: os.umask(0o022),
    )  # fmt: skip
    assert _mode(out) == 0o600
