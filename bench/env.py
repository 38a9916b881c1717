"""The throwaway database and app the benchmarks run on.

SQLite in a temporary directory by default; PostgreSQL when BENCH_DATABASE_URL is set.
The schema is built through the migrations (as in production), then the demo data and
two benchmark users are added. The queue is always the in-process fakeredis: nothing
here measures Redis.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from app import create_app
from app.config import load_config, normalise_database_url

# Cheap hashing for everything but the production-cost login (the test suite's values).
TEST_ARGON2 = (1, 64)
BENCH_PASSWORD = "bench-password-2026"
PROD_USER = "bench-prod@northwind.example"
TEST_USER = "bench-test@northwind.example"
DASHBOARD_USER = "admin@northwind.example"


class BenchSetupError(RuntimeError):
    """The benchmark cannot run with this configuration."""


@dataclass
class BenchEnv:
    app: Flask
    backend: str  # "sqlite" or "postgresql"
    database: str  # shown in the report, without a password
    prod_argon2: tuple[int, int]
    tmpdir: str | None = None
    notes: list[str] = field(default_factory=list)

    def set_argon2(self, cost: tuple[int, int]) -> None:
        self.app.config["ARGON2_TIME_COST"], self.app.config["ARGON2_MEMORY_COST"] = cost

    def close(self) -> None:
        from app.models import db

        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()
        self.app.extensions["vigil_redis"].close()
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def _database_url() -> tuple[str, str, str | None]:
    """(url, backend, temporary directory to delete afterwards)."""
    raw = os.environ.get("BENCH_DATABASE_URL")
    if not raw:
        tmpdir = tempfile.mkdtemp(prefix="vigil-bench-")
        return "sqlite:///" + str(Path(tmpdir) / "bench.db"), "sqlite", tmpdir
    url = sa.make_url(normalise_database_url(raw))
    if not url.drivername.startswith("postgresql"):
        raise BenchSetupError("BENCH_DATABASE_URL must be a PostgreSQL URL")
    # The benchmark drops and recreates the public schema: refuse anything that is not
    # obviously a scratch database.
    if "bench" not in (url.database or ""):
        raise BenchSetupError(
            f"BENCH_DATABASE_URL names database {url.database!r}; the benchmark wipes its public schema, "
            "so it only runs on a database whose name contains 'bench' (e.g. vigil_bench)"
        )
    return url.render_as_string(hide_password=False), "postgresql", None


def _reset_and_migrate(app: Flask) -> None:
    from flask_migrate import upgrade

    from app.models import db

    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
        upgrade(revision="heads")  # also while a branch is being merged
        db.session.remove()


def _seed(env: BenchEnv) -> None:
    from app.demo import seed_demo
    from app.models import Organization, User, db
    from app.passwords import hash_password

    with env.app.app_context():
        seed_demo()
        org = db.session.scalar(sa.select(Organization).where(Organization.slug == "northwind"))
        for email, cost in ((PROD_USER, env.prod_argon2), (TEST_USER, TEST_ARGON2)):
            env.set_argon2(cost)
            db.session.add(User(org_id=org.id, email=email, role="analyst", status="active",
                                email_verified=True, password_hash=hash_password(BENCH_PASSWORD)))
        env.set_argon2(TEST_ARGON2)
        db.session.commit()
        db.session.remove()


def build() -> BenchEnv:
    """Create the app on a fresh database, migrate it and load the demo data."""
    url, backend, tmpdir = _database_url()
    # Production cost as configured (defaults, or VIGIL_ARGON2_* from the environment).
    defaults = load_config(tempfile.gettempdir())
    prod_argon2 = (defaults["ARGON2_TIME_COST"], defaults["ARGON2_MEMORY_COST"])
    app = create_app({
        "VIGIL_ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": "bench-secret-key",
        "SQLALCHEMY_DATABASE_URI": url,
        "REDIS_URL": None,
        "ARGON2_TIME_COST": TEST_ARGON2[0],
        "ARGON2_MEMORY_COST": TEST_ARGON2[1],
        # The login benchmark posts forms directly; CSRF checking is not what it measures.
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
    })
    shown = sa.make_url(url).render_as_string(hide_password=True)
    env = BenchEnv(app, backend, shown, prod_argon2, tmpdir)
    try:
        _reset_and_migrate(app)
        _seed(env)
    except Exception:
        env.close()
        raise
    return env
