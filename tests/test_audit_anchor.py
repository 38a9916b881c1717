"""The audit chain's tail is anchored outside the table (issue 11.9): signed checkpoints in
a file (and a webhook), `vigil audit verify` and the audit.verify job report a truncated
or changed tail, and on PostgreSQL a separate owner role leaves the application's role
unable to alter audit_log or its trigger."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from app import audit, audit_anchor
from app.audit_owner import apply_owner_role
from app.fleet.signing import new_seed
from app.models import AuditLog, JobRun, db
from tests.conftest import run_jobs


@pytest.fixture()
def anchor_file(app, tmp_path, monkeypatch):
    path = tmp_path / "audit-checkpoints.jsonl"
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_FILE", str(path))
    return path


def append_rows(count: int) -> list[AuditLog]:
    rows = [audit.record("test.event", resource_type="test", resource_id=n, actor_type="system", actor_label="test")
            for n in range(count)]
    db.session.commit()
    return rows


def delete_newest(count: int) -> None:
    """What an attacker with the table's ownership can do: switch the trigger off, delete."""
    postgres = db.session.get_bind().dialect.name == "postgresql"
    if postgres:
        db.session.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change"))
    newest = db.session.scalars(sa.select(AuditLog.id).order_by(AuditLog.id.desc()).limit(count)).all()
    db.session.execute(sa.delete(AuditLog).where(AuditLog.id.in_(newest)))
    if postgres:
        db.session.execute(sa.text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change"))
    db.session.commit()


def test_deleting_the_newest_rows_is_reported_as_a_truncated_tail(app, db_session, anchor_file):
    rows = append_rows(3)
    checkpoint = audit_anchor.write_checkpoint()
    assert checkpoint["row_id"] == rows[-1].id and checkpoint["row_hash"] == rows[-1].row_hash
    assert audit_anchor.verify_with_tail().ok
    assert not audit_anchor.has_new_head()
    delete_newest(2)
    assert audit.verify_chain().ok  # the shorter chain alone still looks valid
    report = audit_anchor.verify_with_tail()
    assert not report.ok and report.first_broken_id == rows[-1].id and "truncated tail" in report.reason
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "truncated tail" in result.output


def test_a_checkpoint_not_signed_by_this_server_does_not_count(app, db_session, anchor_file, monkeypatch):
    append_rows(2)
    monkeypatch.setitem(app.extensions, "vigil_signing_key", None)
    monkeypatch.setitem(app.config, "FLEET_SIGNING_KEY", new_seed())
    forged = audit_anchor.write_checkpoint()  # someone else's key
    forged_line = anchor_file.read_text()
    monkeypatch.undo()
    anchor_file.write_text(forged_line)
    assert audit_anchor.newest_checkpoint() is None
    tampered = {**json.loads(forged_line), "row_id": forged["row_id"] + 99}
    anchor_file.write_text(json.dumps(tampered) + "\n")
    assert audit_anchor.newest_checkpoint() is None
    assert audit_anchor.verify_tail().ok and "not anchored" in audit_anchor.verify_tail().reason


class Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        self.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_the_periodic_job_writes_the_file_and_posts_the_webhook_then_verify_checks_it(
        app, client, orgs, anchor_file, monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Receiver.received = []
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_WEBHOOK", f"http://127.0.0.1:{server.server_port}/anchor")
    try:
        from app.jobs.schedule import start_periodic

        append_rows(1)
        with app.app_context():
            start_periodic("audit.checkpoint")
        run_jobs(app)
    finally:
        server.shutdown()
        server.server_close()
    run = db.session.scalar(sa.select(JobRun).where(JobRun.kind == "audit.checkpoint"))
    assert run.status == "succeeded" and "anchored" in run.message
    [line] = anchor_file.read_text().splitlines()
    assert Receiver.received == [json.loads(line)]
    head = db.session.scalar(sa.select(AuditLog).order_by(AuditLog.id.desc()).limit(1))
    assert json.loads(line)["row_id"] == head.id
    assert not audit_anchor.has_new_head()


@pytest.mark.postgres
def test_with_a_separate_owner_the_app_role_cannot_alter_audit_log(db_session):
    """Roles are created inside the test's transaction and vanish with its rollback."""
    suffix = str(abs(hash(object())) % 10**8)
    owner, app_role = f"vigil_t_owner_{suffix}", f"vigil_t_app_{suffix}"
    db.session.execute(sa.text(f'CREATE ROLE "{app_role}" NOLOGIN'))
    # The test schema is re-created per run without PUBLIC's usage; a real app role has it.
    db.session.execute(sa.text(f'GRANT USAGE ON SCHEMA public TO "{app_role}"'))
    apply_owner_role(db.session.connection(), owner, app_role)
    assert db.session.scalar(sa.text("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log'")) == owner
    db.session.execute(sa.text(f'SET LOCAL ROLE "{app_role}"'))
    row = audit.record("test.as_app_role", actor_type="system", actor_label="test")  # appending still works
    db.session.flush()
    for statement in ("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
                      "DROP TRIGGER audit_log_no_change ON audit_log",
                      "ALTER TABLE audit_log ADD COLUMN note text",
                      f"DELETE FROM audit_log WHERE id = {row.id}",
                      "TRUNCATE audit_log"):
        with pytest.raises(sa.exc.ProgrammingError, match="must be owner|permission denied"):
            with db.session.begin_nested():
                db.session.execute(sa.text(statement))
    db.session.execute(sa.text("RESET ROLE"))
    db.session.rollback()
