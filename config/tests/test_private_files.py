"""Issue 9 item 9: `make run` creates .env (the JWT signing key) and the SQLite database owner-only (0600)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed arguments
        args, check=True, capture_output=True, text=True, timeout=60, preexec_fn=lambda: os.umask(0o022), **kwargs
    )


def test_make_writes_dot_env_0600_under_a_permissive_umask(tmp_path):
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    run(["make", "--no-print-directory", "-C", str(tmp_path), ".env", f"PYTHON={sys.executable}"])
    assert (tmp_path / ".env").read_text().count("SECRET_KEY=") == 1
    assert mode(tmp_path / ".env") == 0o600


def test_the_database_steps_of_make_run_run_under_umask_077():
    dry = run(["make", "-n", "--no-print-directory", "-C", str(ROOT), "migrate", "seed", "VENV=.venv"]).stdout
    lines = [line for line in dry.splitlines() if "manage.py migrate" in line or "manage.py seed" in line]
    assert len(lines) == 2
    assert all(line.startswith("umask 077;") for line in lines), lines


def test_the_embedded_database_is_created_0600_whatever_the_umask(tmp_path):
    database = tmp_path / "var" / "db.sqlite3"
    database.parent.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "SECRET_KEY": "x" * 50,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_READ_DOT_ENV": "false",
    }
    env.pop("REDIS_URL", None)
    script = (
        "import django; django.setup(); from django.db import connection; "
        "connection.cursor().execute('create table probe (x int)'); connection.close()"
    )
    run([sys.executable, "-c", script], env=env, cwd=ROOT)
    files = sorted(database.parent.glob("db.sqlite3*"))
    assert database in files
    assert {path.name: mode(path) for path in files} == {path.name: 0o600 for path in files}
