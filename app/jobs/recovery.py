"""Recovering job runs that lost their RQ job: Redis restarted, the push after commit
failed, or a worker died mid-run."""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from rq.job import Job

from app.jobs import REGISTRY, job
from app.models import JobRun, db, utcnow

log = logging.getLogger(__name__)
QUEUED_GRACE = timedelta(minutes=2)
RUNNING_GRACE = timedelta(minutes=5)


def _lost_runs(now) -> tuple[list[JobRun], list[JobRun]]:
    from app.jobs.queue import get_redis

    redis = get_redis()
    queued = [r for r in db.session.scalars(sa.select(JobRun).where(
        JobRun.status == "queued", JobRun.created_at < now - QUEUED_GRACE)) if not Job.exists(r.rq_job_id, redis)]
    running = [r for r in db.session.scalars(sa.select(JobRun).where(JobRun.status == "running"))
               if r.kind in REGISTRY and r.started_at is not None
               and r.started_at < now - timedelta(seconds=REGISTRY[r.kind].timeout) - RUNNING_GRACE]
    return queued, running


def has_lost_runs() -> bool:
    """Cheap enough for the scheduler's check: two indexed queries and a Redis EXISTS each."""
    queued, running = _lost_runs(utcnow())
    return bool(queued or running)


@job("jobs.recover", title="Recover lost job runs", queue="high", timeout=300)
def recover(ctx, **_params) -> dict:
    """Re-queue runs whose RQ job vanished; fail runs whose worker never finished them."""
    from app.jobs.queue import push_run

    queued, running = _lost_runs(utcnow())
    for run in queued:
        push_run(run.id, run.kind)
    for run in running:
        run.status = "failed"
        run.error = "The worker stopped before the job finished (it died or ran past its time limit)."
        run.message = "Failed; nothing was saved"
        run.finished_at = utcnow()
    return {"message": f"{len(queued)} re-queued, {len(running)} marked failed",
            "requeued": [r.id for r in queued], "failed": [r.id for r in running]}
