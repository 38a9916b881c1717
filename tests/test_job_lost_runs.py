"""Queued runs that would never start by themselves: a jobs.recover run lost from Redis no
longer blocks recovery, and a run whose worker died between taking the job and marking it
running is ended instead of staying "queued" forever (app/jobs/recovery.py: never_starts)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from rq import Queue, Worker
from rq.utils import utcformat

from app.jobs import enqueue
from app.jobs.queue import get_queue
from app.jobs.recovery import has_lost_runs, never_starts, recover
from app.jobs.schedule import start_periodic
from app.models import JobRun, db, utcnow
from tests.conftest import run_jobs


def fresh(ident: int) -> JobRun:
    db.session.expire_all()
    return db.session.get(JobRun, ident)


def queued_minutes_ago(kind: str, minutes: int = 5) -> JobRun:
    run = enqueue(kind, org_id=None)
    db.session.commit()  # pushed to RQ after the commit
    run.created_at = utcnow() - timedelta(minutes=minutes)
    db.session.commit()
    return run


def test_a_queued_recovery_run_lost_from_redis_does_not_block_recovery(app, db_session, redis_conn):
    stuck = queued_minutes_ago("jobs.recover")
    redis_conn.flushdb()  # Redis restarted: the queued job is gone, the row says "queued"
    assert never_starts(stuck) == "vanished"
    start_periodic("jobs.recover")  # the lost run is no reason to skip
    new = db.session.scalar(sa.select(JobRun).where(JobRun.kind == "jobs.recover", JobRun.id != stuck.id))
    assert new is not None and new.status == "queued"
    run_jobs(app)  # the new run pushes the lost one again, which then runs too
    assert fresh(new.id).status == "succeeded" and fresh(new.id).result["requeued"] == [stuck.id]
    assert fresh(stuck.id).status == "succeeded" and not has_lost_runs()


def test_a_run_whose_worker_died_before_marking_it_running_is_abandoned(app, db_session, redis_conn):
    run = queued_minutes_ago("audit.verify")
    queue = get_queue("low")
    job, _ = Queue.dequeue_any([queue], None, connection=redis_conn)
    assert job.id == run.rq_job_id
    Worker([queue], connection=redis_conn, name="doomed").prepare_job_execution(job)  # took it ... then killed
    assert never_starts(run) is None and not has_lost_runs()  # just taken: a live worker starts it in seconds
    redis_conn.hset(job.key, "started_at", utcformat(utcnow() - timedelta(minutes=5)))
    assert never_starts(run) == "taken" and has_lost_runs()
    result = recover(None)
    db.session.commit()
    assert result["abandoned"] == [run.id] and result["requeued"] == []
    ended = fresh(run.id)
    assert ended.status == "abandoned" and ended.finished_at is not None and "worker" in ended.message
    assert not has_lost_runs()


def test_a_run_rq_gave_up_on_while_still_queued_is_abandoned(app, db_session, redis_conn):
    run = queued_minutes_ago("audit.verify")
    job, _ = Queue.dequeue_any([get_queue("low")], None, connection=redis_conn)
    redis_conn.hset(job.key, "status", "failed")  # what RQ's cleanup writes for a job whose worker died
    assert never_starts(run) == "taken"
    assert recover(None)["abandoned"] == [run.id]


def test_a_run_still_waiting_on_its_queue_is_left_alone(app, db_session, redis_conn):
    run = queued_minutes_ago("audit.verify")  # a long backlog, not a loss
    assert never_starts(run) is None and not has_lost_runs()
    assert recover(None)["requeued"] == [] and fresh(run.id).status == "queued"
