"""Vigil's backups on the shared alert engine, the admin page and the backup job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app.backup import alert_rules
from app.models import Alert, BackupRestoreTest, JobRun, VigilBackup, db
from tests import factories
from tests.conftest import run_jobs


def _alerts(org_id: int) -> dict[str, str]:
    return {a.alert_type: a.status for a in db.session.scalars(sa.select(Alert).where(Alert.org_id == org_id))}


def test_missing_then_failed_backup_alerts_the_internal_org_and_a_good_one_resolves(db_session):
    internal = factories.org(type="internal")
    customer = factories.org()
    db.session.commit()
    alert_rules.evaluate_all(26)  # no backup at all: missing
    assert _alerts(internal.id) == {"vigil_backup_failed": "open"}
    assert _alerts(customer.id) == {}
    db.session.add(VigilBackup(filename="b1", location="/nowhere", status="ok",
                               created_at=datetime.now(UTC) - timedelta(hours=1)))
    db.session.flush()
    alert_rules.evaluate_all(26)
    assert _alerts(internal.id) == {"vigil_backup_failed": "resolved"}
    db.session.add(BackupRestoreTest(ok=False, message="audit chain broken at row 7"))
    db.session.flush()
    alert_rules.evaluate_all(26)
    alert = db.session.scalar(sa.select(Alert).where(Alert.org_id == internal.id, Alert.status == "open"))
    assert alert.alert_type == "vigil_restore_test_failed" and "row 7" in alert.message


def test_backup_page_is_for_super_admins_only(app, client, orgs):
    admin = app.test_client()
    admin.login(orgs.a.users["admin"].email)
    assert admin.get("/admin/backups/").status_code == 403
    assert admin.post("/admin/backups/run").status_code == 403
    client.login(orgs.super_admin.email)
    page = client.get("/admin/backups/")
    assert page.status_code == 200 and "Vigil backups" in page.get_data(as_text=True)


def test_backup_now_runs_the_job_and_lists_the_archive(app, client, orgs, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "BACKUP_DIR", str(tmp_path))
    monkeypatch.setitem(app.config, "BACKUP_ENCRYPT", "0")
    client.login(orgs.super_admin.email)
    assert client.post("/admin/backups/run").status_code == 303
    run_jobs(app)
    db.session.expire_all()
    run = db.session.scalar(sa.select(JobRun).where(JobRun.kind == "backup.create"))
    # Inside the test's rolled-back transaction pg_dump sees only committed rows, which is the point:
    # the archive is written and recorded either way.
    assert run.status == "succeeded", run.error
    [row] = db.session.scalars(sa.select(VigilBackup)).all()
    assert (tmp_path / row.filename).is_file()
    assert row.filename in client.get("/admin/backups/").get_data(as_text=True)
