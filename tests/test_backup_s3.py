"""Vigil's backups on an S3-compatible target (issue 17.3), against a local fake S3 server:
every archive is copied to the bucket, it restores from the remote copy, retention prunes the
remote copies, and the secret key is only ever configured sealed."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from app import create_app
from app.backup import remote, restore, services
from app.crypto import encrypt_text
from app.models import AuditLog, VigilBackup, db
from tests.conftest import BACKEND
from tests.s3_fake import FakeS3

ACCESS_KEY = "AKIAVIGILTEST"
SECRET = "wJalrXUtnFEMI-plaintext-secret-key"


@pytest.fixture()
def s3() -> Iterator[FakeS3]:
    fake = FakeS3(ACCESS_KEY).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture()
def source(app, tmp_path, s3) -> Iterator[Flask]:
    """A SQLite Vigil of its own with the S3 target configured (secret sealed)."""
    instance = tmp_path / "instance"
    instance.mkdir()
    src = create_app({"VIGIL_ENV": "testing", "TESTING": True, "SECRET_KEY": "test-secret-key",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'vigil.db'}", "REDIS_URL": BACKEND.redis_url,
                      "SERVER_NAME": None})
    src.instance_path = str(instance)
    with src.app_context():
        upgrade(revision="heads")
        src.config.update(BACKUP_S3_ENDPOINT=s3.endpoint, BACKUP_S3_BUCKET="backups", BACKUP_S3_PREFIX="acme/",
                          BACKUP_S3_ACCESS_KEY=ACCESS_KEY, BACKUP_S3_SECRET_SEALED=encrypt_text(SECRET),
                          BACKUP_ENCRYPT="1")
        yield src
        db.session.remove()
        db.engine.dispose()


def test_backup_is_copied_to_s3_and_restores_from_the_remote_copy(source, s3, tmp_path):
    row = services.create(tmp_path / "out")
    db.session.commit()
    assert row.status == "ok" and row.error is None
    assert s3.keys("backups") == [f"acme/{row.filename}"]
    assert s3.objects[("backups", f"acme/{row.filename}")] == Path(row.location).read_bytes()
    Path(row.location).unlink()  # the local copy is lost: the remote one restores
    fetched = remote.download(remote.target(), row.filename, tmp_path / row.filename)
    target = sa.make_url(f"sqlite:///{tmp_path / 'restored.db'}")
    restore.restore(fetched, target, tmp_path / "restored")
    assert restore.verify_database(target).ok
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "backup.create"))
    assert audit.new_values["remote"] == f"acme/{row.filename}"
    every_audit = [[a.new_values, a.old_values, a.details] for a in db.session.scalars(sa.select(AuditLog))]
    assert SECRET not in json.dumps(every_audit, default=str)


def test_retention_prunes_the_remote_copies_too(source, s3, tmp_path):
    source.config.update(BACKUP_KEEP_LAST=1, BACKUP_KEEP_DAILY=0, BACKUP_KEEP_WEEKLY=0, BACKUP_KEEP_MONTHLY=0)
    first = services.create(tmp_path / "out")
    second = services.create(tmp_path / "out")
    db.session.commit()
    s3.objects[("backups", "acme/notes.txt")] = b"not ours"
    s3.objects[("backups", "other/" + first.filename)] = b"another installation"
    assert services.prune() == [first]
    assert s3.keys("backups") == ["acme/notes.txt", f"acme/{second.filename}", "other/" + first.filename]
    assert ("DELETE", f"acme/{first.filename}") in s3.requests and ("LIST", "acme/") in s3.requests
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "backup.prune"))
    assert audit.details["remote_pruned"] == [first.filename]


def test_a_refused_upload_keeps_the_local_archive_and_says_why(source, s3, tmp_path):
    source.config["BACKUP_S3_ACCESS_KEY"] = "AKIAWRONG"
    row = services.create(tmp_path / "out")
    db.session.commit()
    assert Path(row.location).is_file() and s3.keys("backups") == []
    assert row.error and "S3 upload" in row.error and "AccessDenied" in row.error
    assert db.session.scalar(sa.select(VigilBackup).where(VigilBackup.id == row.id)).status == "ok"


def test_no_target_means_local_only_and_the_secret_is_sealed(source):
    target = remote.target()
    assert target.secret_key == SECRET and SECRET not in source.config["BACKUP_S3_SECRET_SEALED"]
    source.config["BACKUP_S3_BUCKET"] = ""
    assert remote.target() is None


def test_a_backup_above_the_multipart_threshold_goes_up_in_parts_and_restores(source, s3, tmp_path):
    # 1 MiB threshold: parts are S3's 5 MiB minimum, so a ~12 MiB archive is three parts.
    source.config["BACKUP_S3_MULTIPART_MB"] = 1
    big = Path(source.instance_path) / "uploads" / "big.bin"
    big.parent.mkdir()
    big.write_bytes(os.urandom(12 * 1024 * 1024))  # incompressible: the archive stays above 10 MiB
    row = services.create(tmp_path / "out")
    db.session.commit()
    assert row.status == "ok" and row.error is None and row.size > 10 * 1024 * 1024
    key = f"acme/{row.filename}"
    ops = [op for op, k in s3.requests if k == key]
    assert ops[0] == "CREATE_MULTIPART" and ops[-1] == "COMPLETE_MULTIPART" and "PUT" not in ops
    assert ops.count("UPLOAD_PART") == 3 and s3.uploads == {}
    assert s3.etags[("backups", key)].endswith("-3")
    assert s3.objects[("backups", key)] == Path(row.location).read_bytes()

    Path(row.location).unlink()  # the local copy is lost: the remote one restores, fetched by ranges
    fetched = remote.download(remote.target(), row.filename, tmp_path / row.filename)
    assert ("GET_RANGE", key) in s3.requests
    target = sa.make_url(f"sqlite:///{tmp_path / 'restored.db'}")
    restore.restore(fetched, target, tmp_path / "restored")
    assert restore.verify_database(target).ok
    restored = tmp_path / "restored" / "uploads" / "big.bin"
    assert restored.read_bytes() == big.read_bytes()


def test_a_small_backup_stays_one_put_below_the_threshold(source, s3, tmp_path):
    source.config["BACKUP_S3_MULTIPART_MB"] = 64
    row = services.create(tmp_path / "out")
    db.session.commit()
    assert [op for op, k in s3.requests if k == f"acme/{row.filename}"] == ["PUT"]


def test_a_bad_multipart_setting_is_written_on_the_row(source, s3, tmp_path):
    source.config["BACKUP_S3_MULTIPART_MB"] = "lots"
    row = services.create(tmp_path / "out")
    assert row.status == "ok" and "VIGIL_BACKUP_S3_MULTIPART_MB" in row.error and s3.keys("backups") == []
