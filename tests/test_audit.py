"""The audit log: one row per change, a hash chain that detects tampering, append-only on PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from app import audit
from app.models import AuditLog, JobRun, db
from tests.conftest import run_jobs


def make_rows(n: int, org_id: int) -> list[AuditLog]:
    return [audit.record("test.event", resource_type="thing", resource_id=i, org_id=org_id,
                         new={"n": i, "nested": {"b": 2, "a": 1}}, actor_type="system", actor_label="test")
            for i in range(n)]


def test_rows_chain_onto_each_other(db_session, orgs):
    rows = make_rows(3, orgs.a.org.id)
    db.session.commit()
    assert rows[1].prev_hash == rows[0].row_hash and rows[2].prev_hash == rows[1].row_hash
    report = audit.verify_chain()
    assert report.ok and report.checked >= 3


@pytest.mark.postgres
def test_postgres_refuses_update_and_delete(db_session, orgs):
    row = make_rows(1, orgs.a.org.id)[0]
    db.session.commit()
    for statement in (sa.update(AuditLog).where(AuditLog.id == row.id).values(action="x"),
                      sa.delete(AuditLog).where(AuditLog.id == row.id)):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.session.begin_nested():
                db.session.execute(statement)


def tamper(statement) -> None:
    """Change a row behind the application's back (on PostgreSQL the trigger must be lifted first)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change"))
        db.session.execute(statement)
        db.session.execute(sa.text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change"))
    else:
        db.session.execute(statement)


def test_verify_names_the_first_changed_row(db_session, orgs):
    rows = make_rows(5, orgs.a.org.id)
    db.session.commit()
    tamper(sa.update(AuditLog).where(AuditLog.id == rows[2].id).values(new_values={"n": 99}))
    db.session.expire_all()
    report = audit.verify_chain()
    assert not report.ok
    assert report.first_broken_id == rows[2].id
    assert "content" in report.reason


def test_verify_notices_a_removed_row(db_session, orgs):
    rows = make_rows(4, orgs.a.org.id)
    db.session.commit()
    tamper(sa.delete(AuditLog).where(AuditLog.id == rows[1].id))
    report = audit.verify_chain()
    assert not report.ok and report.first_broken_id == rows[2].id


def test_audit_page_filters_and_starts_verification_as_a_job(client, orgs, app):
    make_rows(3, orgs.a.org.id)
    make_rows(2, orgs.b.org.id)
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    page = client.get("/admin/audit?action=test.")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count("<code>test.event</code>") == 3  # org B's rows are not shown
    bad = client.get("/admin/audit?date_from=2026-02-01&date_to=2026-01-01")
    assert bad.status_code == 422 and "before the start date" in bad.get_data(as_text=True)
    assert client.post("/admin/audit/verify").status_code == 303
    run = db.session.scalar(sa.select(JobRun).where(JobRun.kind == "audit.verify"))
    run_jobs(app)
    db.session.refresh(run)
    assert run.status == "succeeded" and run.result["ok"] is True


def test_audit_viewer_needs_an_admin(client, orgs):
    client.login(orgs.a.users["analyst"].email)
    assert client.get("/admin/audit").status_code == 403
    assert client.post("/admin/audit/verify").status_code == 403


def test_state_changes_write_one_audit_row_with_ip(client, orgs):
    user = orgs.a.users["analyst"]
    client.login(user.email)
    before = db.session.scalar(sa.select(sa.func.count(AuditLog.id)))
    client.post("/account", data={"first_name": "Ada", "last_name": "L", "timezone": "Europe/Paris", "theme": "dark"})
    rows = db.session.scalars(sa.select(AuditLog).order_by(AuditLog.id.desc()).limit(1)).all()
    assert db.session.scalar(sa.select(sa.func.count(AuditLog.id))) == before + 1
    row = rows[0]
    assert row.action == "user.profile_updated" and row.user_id == user.id and row.ip_address == "127.0.0.1"
    assert row.new_values["timezone"] == "Europe/Paris" and row.old_values["timezone"] == "UTC"


def test_concurrent_appends_never_fork_the_chain_on_sqlite(tmp_path):
    """Embedded mode: a threaded web server and the worker thread append at once."""
    import threading

    from flask_migrate import upgrade

    from app import create_app

    app = create_app({"VIGIL_ENV": "testing", "SECRET_KEY": "x", "REDIS_URL": None,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'chain.db'}"})
    with app.app_context():
        upgrade()

    def writer(n: int) -> None:
        for i in range(40):
            with app.app_context():
                audit.record("test.concurrent", resource_id=f"{n}-{i}", actor_type="system", actor_label="t")
                db.session.commit()
                db.session.remove()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with app.app_context():
        report = audit.verify_chain()
        assert report.ok and report.checked == 160, report.as_dict()
        db.engine.dispose()
