"""Vigil: the application factory. Reads config, binds extensions, registers domains.

No network, no migrations, no threads here: `vigil serve` starts the embedded worker.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

from flask import Flask, has_request_context, request
from rq import get_current_job

from app import commands
from app.config import load_config, validate_config
from app.core import errors, templating
from app.extensions import csrf, db, login_manager, migrate
from app.jobs.connection import make_redis

ROOT = Path(__file__).resolve().parent.parent

# Each domain is a package with `bp`; the order is the side navigation's order.
BLUEPRINTS = (
    "core",
    "auth",
    "dashboard",
    "alerts",
    "search",
    "threats",
    "metrics",
    "fleet",
    "wireless",
    "surface",
    "exposure",
    "bait",
    "compliance",
    "roadmap",
    "reports",
    "backup",
    "admin",
    "jobs",
    "notifications",
    "api",
)


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    config = load_config(app.instance_path)
    config.update(overrides or {})
    if str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("sqlite"):
        # Embedded mode: the worker thread writes too, so a writer waits for SQLite's lock
        # (up to 30 s) instead of failing after the driver's default 5 s.
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {**config.get("SQLALCHEMY_ENGINE_OPTIONS", {}), "connect_args": {"timeout": 30}}
    validate_config(config, app.instance_path)
    app.config.update(config)
    logging.basicConfig(level=logging.INFO if app.config["VIGIL_ENV"] != "testing" else logging.WARNING)
    for warning in app.config.get("WARNINGS", []):
        app.logger.warning(warning)

    if app.config["PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Client IPs (lockout, audit, sessions) come from X-Forwarded-For set by our proxies.
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    register_extensions(app)
    register_blueprints(app)
    register_errors(app)
    register_template_helpers(app)
    register_cli(app)
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    _sqlite_foreign_keys()
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    app.extensions["vigil_redis"] = make_redis(app.config)


def register_blueprints(app: Flask) -> None:
    for name in BLUEPRINTS:
        module = importlib.import_module(f"app.{name}")
        app.register_blueprint(module.bp)


def register_errors(app: Flask) -> None:
    errors.register(app)


def register_template_helpers(app: Flask) -> None:
    templating.register(app)


def register_cli(app: Flask) -> None:
    # The commands, not app/cli.py: the console script there imports this factory.
    commands.register(app)


READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def sqlite_begin_statement() -> str:
    """How a SQLite transaction starts. A deferred transaction that read first and writes
    later cannot wait for the lock: when another thread committed in between, SQLite
    answers "database is locked" at once, without the busy timeout (a sign-in during
    seed-demo's jobs got a 503). So the writers, a form post and a worker job, take the
    write lock up front and wait for it; page loads and the CLI's readers stay deferred,
    which WAL never blocks."""
    if has_request_context():
        return "BEGIN" if request.method in READ_ONLY_METHODS else "BEGIN IMMEDIATE"
    return "BEGIN IMMEDIATE" if get_current_job() is not None else "BEGIN"


def _sqlite_foreign_keys() -> None:
    """Make SQLite behave like a database: foreign keys (and ON DELETE rules) enforced,
    and transactions begun by SQLAlchemy rather than by the driver, so SAVEPOINTs and
    rollbacks work (the pysqlite recipe in SQLAlchemy's SQLite dialect documentation)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if getattr(_sqlite_foreign_keys, "installed", False):
        return

    @event.listens_for(Engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        import sqlite3

        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.isolation_level = None  # the driver must not BEGIN on its own
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            # WAL: readers never block the writer (the web threads and the embedded worker
            # share one file); a no-op for in-memory databases.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

    @event.listens_for(Engine, "begin")
    def _on_begin(connection) -> None:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(sqlite_begin_statement())

    _sqlite_foreign_keys.installed = True  # type: ignore[attr-defined]
