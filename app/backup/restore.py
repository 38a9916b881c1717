"""Restoring an archive into an empty database and instance folder, and the restore test.

Refuses, before touching anything: a broken checksum (archive.unpack), a migration head this
Vigil does not know (the archive is from a newer Vigil: upgrade first), a database that
already has tables, an instance folder that already has files, or a backend mismatch.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session

from app import audit
from app.backup.archive import ArchiveError, libpq_env, unpack
from app.models import AuditLog

# This install's Alembic scripts, found from this file (not from the app factory's module).
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def known_revisions() -> set[str]:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return {rev.revision for rev in ScriptDirectory.from_config(config).walk_revisions()}


def check_heads(heads: list[str]) -> None:
    unknown = [h for h in heads if h not in known_revisions()]
    if unknown:
        raise ArchiveError(f"refused: the archive's migration head {', '.join(unknown)} is newer than this Vigil "
                           "knows; restore it with the Vigil version that wrote it (or a later one)")


def restore(archive: Path, url: sa.URL, instance: Path) -> dict[str, Any]:
    """Restore `archive` into the empty database at `url` and the empty folder `instance`."""
    with tempfile.TemporaryDirectory(prefix="vigil-restore-") as tmp:
        work = Path(tmp)
        manifest = unpack(archive, work)
        check_heads(manifest.get("migration_heads") or [])
        backend = manifest["database"]["backend"]
        if backend != url.get_backend_name():
            raise ArchiveError(f"refused: the archive holds a {backend} database; the target is "
                               f"{url.get_backend_name()}")
        if instance.exists() and any(instance.iterdir()):
            raise ArchiveError(f"refused: the instance folder {instance} is not empty")
        _check_empty_database(url)
        dump = work / manifest["database"]["member"]
        if backend == "postgresql":
            conninfo, env = libpq_env(url)
            done = subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                                   "--dbname", conninfo, str(dump)], env=env, capture_output=True, text=True,
                                  check=False)
            if done.returncode != 0:
                raise ArchiveError(f"pg_restore failed: {done.stderr.strip()[:400]}")
        else:
            shutil.copyfile(dump, url.database)
        source = work / "instance"
        instance.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, instance, dirs_exist_ok=True)
    return manifest


def _check_empty_database(url: sa.URL) -> None:
    if url.get_backend_name() == "sqlite" and (not url.database or not Path(url.database).exists()):
        return
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise ArchiveError(f"refused: the target database is not empty ({len(tables)} tables); "
                           "restore into a new, empty database")


@dataclass
class Verification:
    ok: bool
    audit_rows: int
    row_counts: dict[str, int] = field(default_factory=dict)
    message: str = ""


def verify_database(url: sa.URL) -> Verification:
    """Row counts of every table and a walk of the audit chain, on the database at `url`."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            counts = {t: conn.scalar(sa.select(sa.func.count()).select_from(sa.table(t)))
                      for t in sorted(sa.inspect(conn).get_table_names())}
        with Session(engine) as session:
            prev, checked = audit.GENESIS_HASH, 0
            for row in session.scalars(sa.select(AuditLog).order_by(AuditLog.id)).yield_per(2000):
                if row.prev_hash != prev or audit.chain_hash(prev, row) != row.row_hash:
                    return Verification(False, checked, counts, f"audit chain broken at row {row.id}")
                prev, checked = row.row_hash, checked + 1
    finally:
        engine.dispose()
    return Verification(True, checked, counts, f"audit chain intact ({checked} rows); {len(counts)} tables")


def scratch_url(url: sa.URL, work: Path) -> sa.URL:
    """Where a restore test restores to: a new database beside the live one (or a temp file)."""
    if url.get_backend_name() == "sqlite":
        return url.set(database=str(work / "scratch.sqlite3"))
    return url.set(database=f"vigil_restore_test_{secrets.token_hex(4)}")


def create_database(url: sa.URL) -> None:
    _admin(url, f'CREATE DATABASE "{url.database}"')


def drop_database(url: sa.URL) -> None:
    _admin(url, f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


def _admin(url: sa.URL, statement: str) -> None:
    if url.get_backend_name() != "postgresql":
        return
    engine = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(statement))
    finally:
        engine.dispose()
