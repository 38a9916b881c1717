"""Fixtures: the app on the real PostgreSQL + Redis (or the announced fallback), the
schema built once through the migrations, and every test inside a rolled-back transaction.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FSASession
from itsdangerous import URLSafeTimedSerializer

from app import create_app
from app.models import db
from tests import audit_guard, factories
from tests import backend as backend_mod

BACKEND = backend_mod.detect()
# IP geolocation in tests is country level (geoip2fast) whatever instance/geo holds on this
# machine (`make test` installs the city database there); tests/test_geo_city.py installs its own.
os.environ["VIGIL_GEO_DIR"] = os.path.join(tempfile.gettempdir(), f"vigil-tests-no-city-db-{os.getpid()}")
PASSWORD = factories.PASSWORD


def pytest_report_header(config) -> str:
    return BACKEND.describe()


def pytest_configure(config) -> None:
    # The first line of the run says which backend is used (before pytest's own header).
    print(BACKEND.describe(), flush=True)


def pytest_collection_modifyitems(config, items) -> None:
    if BACKEND.is_postgres:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (running on the SQLite fallback)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


class BoundSession(FSASession):
    """Flask-SQLAlchemy 3.1's get_bind() ignores the session's own bind; honour it, so
    every session in a test uses the test's connection and its outer transaction."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and self.bind is not None:
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


class VigilTestClient(FlaskClient):
    """A fresh app context per request (so Flask-Login's `g` cache never leaks between
    requests), and the CSRF token sent on every unsafe request unless csrf=False."""

    def open(self, *args, csrf: bool = True, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        if csrf and method not in ("GET", "HEAD", "OPTIONS"):
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", self.csrf_token())
            kwargs["headers"] = headers
        with self.application.app_context():
            return super().open(*args, **kwargs)

    def csrf_token(self) -> str:
        with self.session_transaction() as sess:
            raw = sess.setdefault("csrf_token", hashlib.sha1(os.urandom(64)).hexdigest())
        return URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token").dumps(raw)

    def login(self, email: str, password: str = PASSWORD):
        return self.post("/auth/login", data={"email": email, "password": password})


def reset_schema(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        engine = db.engine
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
            else:
                for table in reversed(db.metadata.sorted_tables):
                    conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table.name}"'))
                conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade(revision="heads")  # "heads": also works while a branch is being merged
        db.session.remove()
        engine.dispose()


@pytest.fixture(scope="session")
def app() -> Iterator[Flask]:
    app = create_app({
        "VIGIL_ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": BACKEND.database_url,
        "REDIS_URL": BACKEND.redis_url,
        # Cheap hashing in tests; production cost is measured in bench/.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 64,
        "SERVER_NAME": None,
        # The fake webhook and SMTP servers listen on loopback.
        "OUTBOUND_ALLOW": "127.0.0.0/8",
    })
    app.test_client_class = VigilTestClient
    audit_guard.install(app)
    reset_schema(app)
    yield app
    with app.app_context():
        db.engine.dispose()
    app.extensions["vigil_redis"].close()


@pytest.fixture()
def db_session(app: Flask):
    """Each test inside one outer transaction that is rolled back at the end."""
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {"bind": connection, "join_transaction_mode": "create_savepoint", "class_": BoundSession}
        )
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture()
def redis_conn(app: Flask):
    conn = app.extensions["vigil_redis"]
    conn.flushdb()
    yield conn
    conn.flushdb()


@pytest.fixture()
def client(app: Flask, db_session, redis_conn) -> Iterator[VigilTestClient]:
    audit_guard.violations.clear()
    yield app.test_client()
    assert not audit_guard.violations, "state changed without an audit row:\n" + "\n".join(audit_guard.violations)


@pytest.fixture()
def orgs(db_session):
    """Two organizations (A and B) with a user of every role in each, and a super admin."""
    return factories.two_orgs()


@pytest.fixture()
def csf(db_session):
    """NIST CSF 2.0 loaded (and committed) for the metrics tests."""
    from app.metrics import services

    services.load_framework()
    db.session.commit()
    return services.current_framework()


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html)
    assert match, "no csrf token in page"
    return match.group(1)


def run_jobs(app: Flask) -> int:
    """Run every queued job through a real RQ worker (in-process, burst) on the test Redis."""
    from app.jobs.embedded import AppWorker
    from app.jobs.queue import QUEUE_NAMES

    worker = AppWorker(list(QUEUE_NAMES), connection=app.extensions["vigil_redis"])
    worker.flask_app = app
    worker.work(burst=True, logging_level="WARNING")
    return 0
