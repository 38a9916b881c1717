"""Jobs: JobRun rows, enqueue after commit, a real RQ worker, progress, failure, cancel, retry."""

from __future__ import annotations

import sqlalchemy as sa

from app.jobs import REGISTRY, enqueue, job
from app.jobs.runner import JobError, request_cancel
from app.models import JobRun, Site, db
from tests.conftest import run_jobs
from tests.tenancy import assert_other_org_cannot_reach


@job("test.make_sites", title="Test: make sites")
def make_sites(ctx, count: int, fail_after: int | None = None) -> dict:
    for i in range(count):
        db.session.add(Site(org_id=ctx.org_id, name=f"Job site {i}", slug=f"job-site-{ctx.run_id}-{i}"))
        db.session.flush()
        ctx.progress(int((i + 1) * 100 / count), f"{i + 1} of {count}")
        if fail_after is not None and i + 1 >= fail_after:
            raise JobError("stopped on purpose half-way")
    return {"message": f"made {count}", "made": count}


def site_count(org_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count(Site.id)).where(Site.org_id == org_id, Site.name.like("Job site%")))


def test_job_is_enqueued_only_after_commit(app, db_session, redis_conn, orgs):
    from app.jobs.queue import get_queue

    with app.app_context():
        run = enqueue("test.make_sites", org_id=orgs.a.org.id, count=2)
        assert get_queue().count == 0  # not before commit
        db.session.rollback()
        assert get_queue().count == 0  # and never after a rollback
        run = enqueue("test.make_sites", org_id=orgs.a.org.id, count=2)
        run_id = run.id
        db.session.commit()
        assert get_queue().job_ids == [f"vigil-jobrun-{run_id}"]


def test_a_real_worker_runs_the_job_and_records_the_result(app, db_session, redis_conn, orgs):
    run = enqueue("test.make_sites", org_id=orgs.a.org.id, count=3)
    db.session.commit()
    run_jobs(app)
    db.session.expire_all()
    run = db.session.get(JobRun, run.id)
    assert run.status == "succeeded" and run.progress == 100
    assert run.result == {"message": "made 3", "made": 3}
    assert run.started_at and run.finished_at and run.attempts == 1
    assert site_count(orgs.a.org.id) == 3


def test_a_failing_job_leaves_nothing_half_written(app, db_session, redis_conn, orgs):
    run = enqueue("test.make_sites", org_id=orgs.a.org.id, count=4, fail_after=2)
    db.session.commit()
    run_jobs(app)
    db.session.expire_all()
    run = db.session.get(JobRun, run.id)
    assert run.status == "failed"
    assert run.error == "stopped on purpose half-way"
    assert site_count(orgs.a.org.id) == 0


def test_cancel_a_queued_run(app, db_session, redis_conn, orgs):
    run = enqueue("test.make_sites", org_id=orgs.a.org.id, count=2)
    db.session.commit()
    request_cancel(run)
    db.session.commit()
    run_jobs(app)
    db.session.expire_all()
    assert db.session.get(JobRun, run.id).status == "cancelled"
    assert site_count(orgs.a.org.id) == 0


def test_jobs_page_polls_while_running_and_stops_when_done(client, orgs):
    client.login(orgs.a.users["admin"].email)
    run = enqueue("test.make_sites", org_id=orgs.a.org.id, count=1)
    db.session.commit()
    queued = client.get(f"/jobs/{run.id}", headers={"HX-Request": "true"})
    assert queued.status_code == 200
    html = queued.get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in html and "<html" not in html  # a fragment that polls
    run_jobs(client.application)
    done = client.get(f"/jobs/{run.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-status="succeeded"' in done and "hx-trigger" not in done
    assert 'value="100"' in done


def test_retry_starts_a_new_run_with_the_same_parameters(client, orgs):
    client.login(orgs.a.users["admin"].email)
    run = enqueue("test.make_sites", org_id=orgs.a.org.id, count=2, fail_after=1)
    db.session.commit()
    run_jobs(client.application)
    response = client.post(f"/jobs/{run.id}/retry")
    assert response.status_code == 303
    retry = db.session.scalar(sa.select(JobRun).where(JobRun.retry_of_id == run.id))
    assert retry.params == {"count": 2, "fail_after": 1} and retry.status == "queued"


def test_read_only_users_cannot_cancel_or_retry(client, orgs):
    client.login(orgs.a.users["read_only"].email)
    run = enqueue("test.make_sites", org_id=orgs.a.org.id, count=1)
    db.session.commit()
    assert client.post(f"/jobs/{run.id}/cancel").status_code == 403


def test_another_orgs_job_runs_are_404(client, orgs):
    run = enqueue("test.make_sites", org_id=orgs.b.org.id, count=1)
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    assert_other_org_cannot_reach(client, [
        ("GET", f"/jobs/{run.id}"), ("POST", f"/jobs/{run.id}/cancel"), ("POST", f"/jobs/{run.id}/retry"),
    ])


def test_registry_declares_queue_and_timeout_for_every_job():
    for spec in REGISTRY.values():
        assert spec.queue in ("high", "default", "low") and spec.timeout > 0


def test_recovery_requeues_lost_runs_and_fails_dead_ones(app, db_session, redis_conn, orgs):
    from datetime import timedelta

    from app.jobs.queue import get_queue
    from app.jobs.recovery import has_lost_runs
    from app.models import utcnow

    with app.app_context():
        lost = enqueue("test.make_sites", org_id=orgs.a.org.id, count=1)
        db.session.commit()
        redis_conn.flushdb()  # Redis lost the queue
        lost.created_at = utcnow() - timedelta(minutes=5)
        dead = enqueue("test.make_sites", org_id=orgs.a.org.id, count=1)
        dead.status, dead.started_at = "running", utcnow() - timedelta(hours=2)
        db.session.commit()
        redis_conn.flushdb()
        assert has_lost_runs()
        recover = enqueue("jobs.recover", org_id=None)
        db.session.commit()
        run_jobs(app)  # runs the recovery, which re-queues the lost run ...
        run_jobs(app)  # ... which a worker then completes
        for run in (lost, dead, recover):
            db.session.refresh(run)
        assert recover.status == "succeeded" and recover.result["requeued"] == [lost.id]
        assert lost.status == "succeeded" and dead.status == "abandoned" and "worker running this job stopped" in dead.error
        assert get_queue().count == 0 and not has_lost_runs()


def test_a_queue_outage_at_commit_does_not_fail_the_request(app, db_session, orgs, monkeypatch):
    import redis

    from app.jobs import queue

    def down(*_a, **_k):
        raise redis.exceptions.ConnectionError("down")

    monkeypatch.setattr(queue, "push_run", down)
    with app.app_context():
        run = enqueue("test.make_sites", org_id=orgs.a.org.id, count=1)
        db.session.commit()  # must not raise: the run stays queued for jobs.recover
        assert db.session.get(JobRun, run.id).status == "queued"
