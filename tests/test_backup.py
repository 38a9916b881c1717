"""Vigil's own backups: an archive restores into a new database with identical rows and a
verifying audit chain; tampered, newer or foreign archives are refused; retention is exact."""

from __future__ import annotations

import io
import json
import secrets
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from app import create_app
from app.backup import archive, restore, services
from app.backup.retention import Policy, to_keep
from app.models import AuditLog, BackupRestoreTest, VigilBackup, db
from tests.conftest import BACKEND


def _source_app(url: str, instance: Path) -> Flask:
    source = create_app({
        "VIGIL_ENV": "testing", "TESTING": True, "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": BACKEND.redis_url,
        "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 64, "SERVER_NAME": None,
    })
    source.instance_path = str(instance)
    return source


@pytest.fixture()
def pg_source(app, tmp_path) -> Iterator[Flask]:
    """A PostgreSQL database of its own, migrated and seeded with the demo data (committed:
    pg_dump sees only committed rows), dropped at the end."""
    if not BACKEND.is_postgres:
        pytest.skip("needs PostgreSQL")
    url = sa.make_url(BACKEND.database_url).set(database=f"vigil_test_reports_src_{secrets.token_hex(3)}")
    restore.create_database(url)
    instance = tmp_path / "instance"
    (instance / "uploads").mkdir(parents=True)
    (instance / "uploads" / "evidence.txt").write_text("a file an analyst uploaded")
    source = _source_app(url.render_as_string(hide_password=False), instance)
    try:
        with source.app_context():
            upgrade(revision="heads")
            from app.demo import seed_demo

            seed_demo()
            db.session.commit()
            yield source
            db.session.remove()
            db.engine.dispose()
    finally:
        restore.drop_database(url)


def test_pg_backup_restores_with_identical_rows_and_audit_chain(pg_source, tmp_path):
    source_check = restore.verify_database(db.engine.url)  # before: the backup's own row comes after the dump
    result = pg_source.test_cli_runner().invoke(args=["backup", "create", "--out", str(tmp_path / "out"), "--encrypt"])
    assert result.exit_code == 0, result.output
    row = db.session.scalar(sa.select(VigilBackup).order_by(VigilBackup.id.desc()).limit(1))
    path = Path(row.location)
    assert row.encrypted and path.name.endswith(".sealed") and archive.sha256_file(path) == row.sha256
    target = db.engine.url.set(database=f"vigil_test_reports_restore_{secrets.token_hex(3)}")
    restore.create_database(target)
    try:
        manifest = restore.restore(path, target, tmp_path / "restored")
        check = restore.verify_database(target)
    finally:
        restore.drop_database(target)
    assert manifest["migration_heads"] == archive.db_heads()
    assert check.ok and check.audit_rows > 0 and check.audit_rows == source_check.audit_rows
    assert check.row_counts == source_check.row_counts
    assert check.row_counts["observations"] > 0 and check.row_counts["users"] > 0
    assert (tmp_path / "restored" / "uploads" / "evidence.txt").read_text() == "a file an analyst uploaded"


def test_restore_test_job_records_its_result(pg_source, tmp_path):
    pg_source.config["BACKUP_DIR"] = str(tmp_path / "out")
    services.create(encrypt=False)
    db.session.commit()
    result = services.test_restore()
    db.session.commit()
    assert result.ok, result.message
    assert result.row_counts["audit_log"] == result.audit_rows_checked > 0
    assert db.session.scalar(sa.select(sa.func.count(BackupRestoreTest.id))) == 1
    # The scratch database is gone again.
    with db.engine.connect() as conn:
        assert not conn.scalar(sa.text("SELECT count(*) FROM pg_database WHERE datname LIKE 'vigil_restore_test_%'"))


def test_tampered_newer_and_non_empty_targets_are_refused(pg_source, tmp_path):
    built = archive.build(tmp_path / "out", encrypt=False)
    target = db.engine.url.set(database=f"vigil_test_reports_restore_{secrets.token_hex(3)}")
    restore.create_database(target)
    try:
        # A member changed after the manifest was written.
        tampered = _rewrite(built.path, tmp_path / "tampered.tar.gz", member="instance/uploads/evidence.txt",
                            data=b"changed")
        with pytest.raises(archive.ArchiveError, match="broken checksum for instance/uploads/evidence.txt"):
            restore.restore(tampered, target, tmp_path / "r1")
        refused = pg_source.test_cli_runner().invoke(args=[
            "backup", "restore", str(tampered), "--database-url", target.render_as_string(hide_password=False),
            "--instance", str(tmp_path / "r1")])
        assert refused.exit_code == 1 and "broken checksum" in refused.output
        # An archive from a newer Vigil.
        newer = _rewrite(built.path, tmp_path / "newer.tar.gz", manifest={"migration_heads": ["9999"]})
        with pytest.raises(archive.ArchiveError, match="migration head 9999 is newer"):
            restore.restore(newer, target, tmp_path / "r2")
        # A sealed archive with one byte flipped.
        sealed = archive.build(tmp_path / "sealed", encrypt=True).path
        data = bytearray(sealed.read_bytes())
        data[len(data) // 2] ^= 0x01
        sealed.write_bytes(bytes(data))
        with pytest.raises(archive.ArchiveError, match="refused"):
            restore.restore(sealed, target, tmp_path / "r3")
        # Into a database that already has tables.
        with pytest.raises(archive.ArchiveError, match="not empty"):
            restore.restore(built.path, db.engine.url, tmp_path / "r4")
        engine = sa.create_engine(target)
        with engine.connect() as conn:
            assert sa.inspect(conn).get_table_names() == []  # nothing half-restored
        engine.dispose()
    finally:
        restore.drop_database(target)


def _rewrite(src: Path, dst: Path, *, member: str | None = None, data: bytes = b"",
             manifest: dict | None = None) -> Path:
    with tarfile.open(src, "r:gz") as tin, tarfile.open(dst, "w:gz") as tout:
        for info in tin.getmembers():
            body = tin.extractfile(info).read()
            if info.name == member:
                body = data
            if info.name == "manifest.json" and manifest:
                body = json.dumps({**json.loads(body), **manifest}).encode()
            info.size = len(body)
            tout.addfile(info, io.BytesIO(body))
    return dst


def test_sqlite_backup_restores(app, tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    source = _source_app(f"sqlite:///{tmp_path / 'vigil.db'}", instance)
    with source.app_context():
        upgrade(revision="heads")
        from app import audit

        audit.record("test.event", actor_type="system", actor_label="test")
        db.session.commit()
        built = archive.build(tmp_path / "out", encrypt=True)
        target = sa.make_url(f"sqlite:///{tmp_path / 'restored.db'}")
        restore.restore(built.path, target, tmp_path / "restored")
        check = restore.verify_database(target)
        assert check.ok and check.audit_rows == 1
        assert check.row_counts == restore.verify_database(db.engine.url).row_counts
        db.session.remove()
        db.engine.dispose()


def test_retention_keeps_exactly_what_it_says():
    now = datetime(2026, 12, 7, 1, 11, tzinfo=UTC)
    # One backup a day for 400 days, plus two extra today.
    created = [now - timedelta(days=d) for d in range(400)] + [now - timedelta(hours=1), now - timedelta(hours=2)]
    keep = to_keep(created, Policy(last=3, daily=5, weekly=3, monthly=4))
    kept = sorted((created[i] for i in keep), reverse=True)
    days = {t.date() for t in kept}
    # last 3: now, -1h, -2h; daily: 5 newest days (today..-4d); weekly: newest of 3 ISO weeks;
    # monthly: newest of 4 months (Dec, Nov 30, Oct 31, Sep 30).
    assert kept[:3] == [now, now - timedelta(hours=1), now - timedelta(hours=2)]
    assert {now.date() - timedelta(days=d) for d in range(5)} <= days
    assert {datetime(2026, 11, 30).date(), datetime(2026, 10, 31).date(), datetime(2026, 9, 30).date()} <= days
    weeks = {t.isocalendar()[:2] for t in kept}
    assert {(2026, 50), (2026, 49), (2026, 48)} <= weeks
    # Monday 2026-11-30 is week 49's newest... so nothing beyond these buckets survives:
    assert len(kept) == len({*kept})
    assert all(t >= datetime(2026, 9, 30, tzinfo=UTC) for t in kept)
    assert len(keep) == 3 + 4 + 1 + 2  # 3 last; days -1..-4; week 48's Sunday (Nov 29); Oct 31 and Sep 30


def test_prune_deletes_files_the_policy_drops(app, db_session, tmp_path, monkeypatch):
    for name, value in (("BACKUP_KEEP_LAST", 2), ("BACKUP_KEEP_DAILY", 0), ("BACKUP_KEEP_WEEKLY", 0),
                        ("BACKUP_KEEP_MONTHLY", 0)):
        monkeypatch.setitem(app.config, name, value)
    rows = []
    for age in range(4):
        path = tmp_path / f"b{age}.tar.gz"
        path.write_bytes(b"x")
        rows.append(VigilBackup(filename=path.name, location=str(path), status="ok",
                                created_at=datetime.now(UTC) - timedelta(days=age)))
    db.session.add_all(rows)
    db.session.flush()
    assert services.has_prune_work()
    gone = services.prune()
    assert sorted(b.filename for b in gone) == ["b2.tar.gz", "b3.tar.gz"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b0.tar.gz", "b1.tar.gz"]
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "backup.prune")) is not None
