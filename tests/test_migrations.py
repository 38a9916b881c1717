"""Migrations: one head; `flask db upgrade` from empty works on SQLite and PostgreSQL; no drift."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from tests.backend import TEST_DB_NAME
from tests.conftest import BACKEND

ROOT = Path(__file__).resolve().parent.parent
MIGRATE_DB = f"{TEST_DB_NAME}_migrate"


def flask_db(args: list[str], database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "FLASK_APP": "app:create_app", "VIGIL_ENV": "testing",
           "SECRET_KEY": "x"}
    env.pop("REDIS_URL", None)
    return subprocess.run([sys.executable, "-m", "flask", "db", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_there_is_exactly_one_head():
    config = Config(str(ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_upgrade_from_empty_and_no_drift_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    up = flask_db(["upgrade"], url)
    assert up.returncode == 0, up.stderr
    check = flask_db(["check"], url)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr


@pytest.mark.postgres
def test_upgrade_from_empty_and_no_drift_on_postgres():
    base = sa.make_url(BACKEND.database_url)
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{MIGRATE_DB}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{MIGRATE_DB}"'))
    try:
        url = base.set(database=MIGRATE_DB).render_as_string(hide_password=False)
        up = flask_db(["upgrade"], url)
        assert up.returncode == 0, up.stderr
        check = flask_db(["check"], url)
        assert check.returncode == 0, check.stdout + check.stderr
        down = flask_db(["downgrade", "base"], url)
        assert down.returncode == 0, down.stderr
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{MIGRATE_DB}"'))
        admin.dispose()
