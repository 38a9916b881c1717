"""Issue 11.2: a worker killed mid-job. A real `vigil worker` process imports a large file,
is killed with SIGKILL between two committed batches, and its run must not stay "running":
the run's lease runs out, jobs.recover marks it abandoned with what its committed batches
hold, and Retry finishes the import.

The worker is another process, so what it must see is committed for real (fixture
`committed_import`, removed again after the test's own rolled-back transaction ends)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.jobs import enqueue, lease, rq_job_id
from app.jobs.queue import push_run
from app.jobs.recovery import has_lost_runs
from app.models import JobRun, Organization, db
from app.models.wireless import DeviceSource, Observation, WirelessImport
from tests import factories
from tests.conftest import BACKEND, run_jobs
from tests.wireless_import_files import COLUMNS, PRE_HEADER

pytestmark = pytest.mark.postgres

ROWS = 200_000  # ten batches: the kill lands between the first commit and the last
LEASE_SECONDS = 3
WAIT_LIMIT = 300  # seconds: a guard against a hung worker, not a speed requirement


def sightings_file(path: Path) -> Path:
    lines = [PRE_HEADER, COLUMNS]
    for i in range(ROWS):
        n = i % 2000
        lines.append(f"aa:bb:cc:01:{n // 256:02x}:{n % 256:02x},net{n},[WPA2-PSK-CCMP][ESS],"
                     f"{1777629600000 + i * 1000},6,2437,-{40 + i % 50},39.{i % 9000:04d},-104.{i % 7000:04d},"
                     "1609,5,,,WIFI")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture()
def committed_import(app, tmp_path):
    """An organization, a source, a queued import of a large file and its queued run, committed
    for real so a worker process sees them; deleted (with everything under the org) afterwards."""
    path = sightings_file(tmp_path / "big.csv")
    with app.app_context():
        with Session(db.engine) as session:
            org = Organization(name="Worker death", slug=f"worker-death-{os.getpid()}")
            session.add(org)
            session.flush()
            source = DeviceSource(org_id=org.id, code="van", name="Van")
            session.add(source)
            session.flush()
            imp = WirelessImport(org_id=org.id, source_id=source.id, filename="big.csv", stored_path=str(path),
                                 format="wigle_csv", size_bytes=path.stat().st_size, status="queued", errors=[])
            session.add(imp)
            session.flush()
            run = JobRun(kind="wireless.import", org_id=org.id, params={"import_id": imp.id}, status="queued",
                         message="Waiting for a worker")
            session.add(run)
            session.flush()
            run.rq_job_id = rq_job_id(run.id)
            imp.job_run_id = run.id
            session.commit()
            ids = (org.id, imp.id, run.id)
    yield ids
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(sa.delete(Organization).where(Organization.id == ids[0]))
        report = Path(app.instance_path) / "wireless" / "imports" / str(ids[0]) / f"{ids[1]}-errors.csv"
        report.unlink(missing_ok=True)


def wait_for(check, what: str):
    deadline = time.monotonic() + WAIT_LIMIT
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def fresh(model, ident):
    db.session.expire_all()
    return db.session.get(model, ident)


def test_killed_worker_run_is_abandoned_and_can_be_retried(app, committed_import, client, redis_conn, tmp_path):
    org_id, import_id, run_id = committed_import
    push_run(run_id, "wireless.import")
    env = {**os.environ, "DATABASE_URL": BACKEND.database_url, "REDIS_URL": BACKEND.redis_url,
           "VIGIL_JOB_LEASE_SECONDS": str(LEASE_SECONDS), "PYTHONPATH": str(Path(__file__).parents[1])}
    vigil = Path(sys.executable).with_name("vigil")
    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen([str(vigil), "worker", "--burst", "--queues", "default"], env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            # Mid-job: at least one batch committed, and the file not finished.
            imp = wait_for(lambda: (i := fresh(WirelessImport, import_id)).rows_read > 0 and i, "a committed batch")
            os.kill(worker.pid, signal.SIGKILL)
        finally:
            worker.wait()
    assert worker.returncode == -signal.SIGKILL, (tmp_path / "worker.log").read_text()[-2000:]
    imp = fresh(WirelessImport, import_id)
    run = db.session.get(JobRun, run_id)
    assert run.status == "running" and imp.status == "running" and 0 < imp.rows_read < ROWS
    saved = imp.rows_imported
    assert saved == db.session.scalar(sa.select(sa.func.count()).select_from(Observation)
                                      .where(Observation.import_id == import_id))

    # Nobody renews the lease any more: it runs out, and the periodic recovery notices.
    wait_for(lambda: lease.expired(fresh(JobRun, run_id)), "the lease to run out")
    assert has_lost_runs()
    recover = enqueue("jobs.recover", org_id=None)
    db.session.commit()
    run_jobs(app)
    assert fresh(JobRun, recover.id).result["abandoned"] == [run_id]
    run, imp = db.session.get(JobRun, run_id), db.session.get(WirelessImport, import_id)
    assert run.status == "abandoned" and run.finished_at and "worker stopped" in run.message
    assert f"{saved} row(s) of {imp.rows_read} read were saved" in run.message
    assert imp.status == "failed" and f"{saved} row(s) of" in imp.message and imp.rows_imported == saved

    # Retry from the Jobs page finishes the import; what was saved is found again as duplicates.
    admin = factories.user(org_id, "admin", email="worker-death-admin@example.test")
    db.session.commit()
    client.login(admin.email)
    page = client.get(f"/jobs/{run_id}")
    assert "abandoned" in page.text and f'action="/jobs/{run_id}/retry"' in page.text
    assert client.post(f"/jobs/{run_id}/retry").status_code == 303
    new = db.session.scalar(sa.select(JobRun).where(JobRun.retry_of_id == run_id))
    assert new is not None and new.status == "queued"
    run_jobs(app)
    imp = fresh(WirelessImport, import_id)
    assert fresh(JobRun, new.id).status == "succeeded" and imp.status == "succeeded"
    assert imp.rows_read == ROWS and imp.rows_imported + imp.rows_duplicate == ROWS
    assert imp.rows_duplicate == saved
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Observation)
                             .where(Observation.org_id == org_id)) == ROWS


def test_cancel_ends_a_run_whose_worker_is_gone(app, client, orgs, redis_conn):
    from app.models import utcnow

    run = enqueue("jobs.recover", org_id=orgs.a.org.id)
    run.status, run.started_at, run.lease_expires_at = "running", utcnow(), utcnow()
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    response = client.post(f"/jobs/{run.id}/cancel")
    assert response.status_code == 303
    run = fresh(JobRun, run.id)
    assert run.status == "cancelled" and run.finished_at and "worker stopped" in run.message
    assert client.post(f"/jobs/{run.id}/retry").status_code == 303
    assert db.session.scalar(sa.select(JobRun.status).where(JobRun.retry_of_id == run.id)) == "queued"


def test_a_dead_recovery_run_does_not_block_recovery(app, db_session, redis_conn):
    from app.jobs.schedule import start_periodic
    from app.models import utcnow

    dead = enqueue("jobs.recover", org_id=None)
    dead.status, dead.started_at, dead.lease_expires_at = "running", utcnow(), utcnow()
    db.session.commit()
    redis_conn.flushdb()  # its worker took it off the queue, then died
    start_periodic("jobs.recover")  # the dead run is no reason to skip: it is itself lost
    new = db.session.scalar(sa.select(JobRun).where(JobRun.kind == "jobs.recover", JobRun.id != dead.id))
    assert new is not None and new.status == "queued"
    run_jobs(app)
    assert fresh(JobRun, dead.id).status == "abandoned" and fresh(JobRun, new.id).status == "succeeded"


def test_cancel_pressed_before_the_lease_ran_out_ends_cancelled(app, db_session, redis_conn):
    from datetime import timedelta

    from app.jobs.recovery import recover
    from app.jobs.runner import cancel_key
    from app.models import utcnow

    run = enqueue("jobs.recover", org_id=None)
    run.status, run.started_at, run.lease_expires_at = "running", utcnow(), utcnow() + timedelta(minutes=1)
    db.session.commit()
    redis_conn.flushdb()
    assert not has_lost_runs()  # its lease still runs: Cancel can only ask
    redis_conn.set(cancel_key(run.id), 1)
    run.lease_expires_at = utcnow() - timedelta(seconds=1)  # ... and then it runs out
    db.session.commit()
    recover(None)
    assert run.status == "cancelled" and "worker stopped" in run.message
