"""Which database and Redis the test suite runs on.

PostgreSQL and Redis when reachable (DATABASE_URL / REDIS_URL, or the defaults on
127.0.0.1); otherwise SQLite + fakeredis, said in the first line of the run. With
VIGIL_REQUIRE_SERVICES=1 a missing service is an error instead.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import sqlalchemy as sa

DEFAULT_PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"
# Parallel runs (several checkouts on one machine) pick their own database with
# VIGIL_TEST_DB and their own Redis db with REDIS_URL (e.g. redis://127.0.0.1:6379/11).
TEST_DB_NAME = os.environ.get("VIGIL_TEST_DB", "vigil_test")


@dataclass
class Backend:
    database_url: str
    redis_url: str | None
    fallback_reason: str | None = None

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    def describe(self) -> str:
        if self.fallback_reason is None:
            return f"vigil tests: PostgreSQL ({self.database_url.rsplit('@', 1)[-1]}) + Redis ({self.redis_url})"
        return f"vigil tests: FALLBACK to SQLite + fakeredis ({self.fallback_reason})"


def _admin_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return DEFAULT_PG_ADMIN
    from app.config import normalise_database_url

    return normalise_database_url(url)


def _postgres_url() -> str:
    """Make sure the test database exists; return its URL."""
    admin_url = sa.make_url(_admin_url())
    engine = sa.create_engine(admin_url.set(database="postgres"), isolation_level="AUTOCOMMIT",
                              connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": TEST_DB_NAME})
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{TEST_DB_NAME}"'))
    finally:
        engine.dispose()
    return admin_url.set(database=TEST_DB_NAME).render_as_string(hide_password=False)


def _redis_url() -> str:
    import redis

    url = os.environ.get("REDIS_URL") or DEFAULT_REDIS
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return url


def detect() -> Backend:
    problems = []
    database_url = redis_url = None
    try:
        database_url = _postgres_url()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        problems.append(f"PostgreSQL unreachable: {type(exc).__name__}")
    try:
        redis_url = _redis_url()
    except Exception as exc:  # noqa: BLE001
        problems.append(f"Redis unreachable: {type(exc).__name__}")
    if not problems:
        return Backend(database_url, redis_url)
    if os.environ.get("VIGIL_REQUIRE_SERVICES") == "1":
        raise RuntimeError("VIGIL_REQUIRE_SERVICES=1 but " + "; ".join(problems))
    path = os.path.join(tempfile.mkdtemp(prefix="vigil-test-"), "test.db")
    return Backend("sqlite:///" + path, None, "; ".join(problems))
