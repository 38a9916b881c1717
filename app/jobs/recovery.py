"""Recovering job runs that lost their RQ job or their worker.

- A queued run whose RQ job vanished (Redis restarted, the push after commit failed) is
  pushed again.
- A queued run whose RQ job a worker took but never marked running (the worker died between
  taking the job and its first commit: RQ says the job started over a lease ago, or failed)
  is marked `abandoned`: nothing of it ran, and Retry runs it again.
- A running run whose lease ran out (app/jobs/lease.py: its worker was killed, ran out of
  memory or lost its host) is marked `abandoned`, with what it had committed: the job kind's
  `on_ended_early` hook says it exactly (an import's committed batches); otherwise the run
  says its committed work is kept. The same hook closes the job's records when a run is
  cancelled before it started (`ended_early`), so no import row stays "queued" forever. A run from before leases existed falls back to its job
  timeout plus a grace period.

`jobs.recover` runs every minute when `has_lost_runs()` finds work, so a dead worker's run
is ended within JOB_LEASE_SECONDS plus a minute. Cancel on the Jobs page ends such a run at
once (`abandon(..., cancelled=True)`), and an abandoned run can be retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from app.jobs import lease
from app.jobs.connection import get_redis
from app.jobs.queue import push_run
from app.jobs.registry import REGISTRY, job
from app.jobs.runner import cancel_key, live_progress
from app.models import JobRun, db, utcnow

log = logging.getLogger(__name__)
QUEUED_GRACE = timedelta(minutes=2)
RUNNING_GRACE = timedelta(minutes=5)
# kind -> hook(run, reason) that closes the job's own records of a run that ended before its
# job could (reason: "its worker stopped", ...) and says what was committed.
ENDED_HOOKS: dict[str, Callable[[JobRun, str], str | None]] = {}


def on_ended_early(kind: str) -> Callable:
    """Register what to do when a run of `kind` ends without its job finishing (the worker
    died, or it was cancelled before it started); the hook returns what was saved."""

    def decorator(func: Callable[[JobRun, str], str | None]) -> Callable[[JobRun, str], str | None]:
        ENDED_HOOKS[kind] = func
        return func

    return decorator


def ended_early(run: JobRun, reason: str) -> str | None:
    """Let the run's job kind close its records; what it says was saved, or None (no commit)."""
    hook = ENDED_HOOKS.get(run.kind)
    if hook is None:
        return None
    try:
        return hook(run, reason)
    except Exception:  # noqa: BLE001 - the run must still end
        log.exception("ended-early hook of %s #%s failed", run.kind, run.id)
        return None


def worker_gone(run: JobRun, now: datetime | None = None) -> bool:
    """Whether a running run has lost its worker: its lease ran out, or (a run without a lease)
    it is past its job timeout plus a grace period."""
    now = now or utcnow()
    if run.status != "running":
        return False
    if run.lease_expires_at is not None:
        return lease.expired(run, now)
    spec = REGISTRY.get(run.kind)
    return (spec is not None and run.started_at is not None
            and run.started_at < now - timedelta(seconds=spec.timeout) - RUNNING_GRACE)


def never_starts(run: JobRun, now: datetime | None = None) -> str | None:
    """Why a queued run will not start by itself: "vanished" (its RQ job is gone), "taken" (a
    worker took the job and stopped before marking the run running), or None (it will)."""
    now = now or utcnow()
    if run.status != "queued" or run.created_at is None or as_utc(run.created_at) >= now - QUEUED_GRACE:
        return None  # the grace covers the push that follows the commit
    try:
        rq_job = Job.fetch(run.rq_job_id, connection=get_redis())
    except NoSuchJobError:
        return "vanished"
    status = rq_job.get_status(refresh=False)
    if status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
        return "taken"  # RQ gave up on the worker that held it (or it crashed before run_job)
    # A live worker marks the run running within seconds of taking the job.
    started = rq_job.started_at
    if status == JobStatus.STARTED and started is not None:
        return "taken" if as_utc(started) < now - timedelta(seconds=lease.seconds()) else None
    return None


def lost(run: JobRun, now: datetime | None = None) -> bool:
    """Whether a queued or running run needs jobs.recover to go on (or to end)."""
    return worker_gone(run, now) or never_starts(run, now) is not None


def as_utc(moment: datetime) -> datetime:
    """SQLite and RQ may hand back naive datetimes; both are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _lost_runs(now) -> tuple[list[JobRun], list[JobRun], list[JobRun]]:
    """(queued runs to push again, queued runs a dead worker took, running runs whose worker is gone)."""
    waiting = [(r, never_starts(r, now)) for r in db.session.scalars(sa.select(JobRun).where(
        JobRun.status == "queued", JobRun.created_at < now - QUEUED_GRACE))]
    vanished = [r for r, why in waiting if why == "vanished"]
    taken = [r for r, why in waiting if why == "taken"]
    running = [r for r in db.session.scalars(sa.select(JobRun).where(JobRun.status == "running"))
               if worker_gone(r, now)]
    return vanished, taken, running


def has_lost_runs() -> bool:
    """Cheap enough for the scheduler's check: two indexed queries and a Redis read each."""
    return any(_lost_runs(utcnow()))


def _last_progress(run: JobRun) -> int:
    try:
        return live_progress(run)[0]
    except Exception:  # noqa: BLE001 - Redis down: the row's own progress will do
        return run.progress


def _cancel_requested(run: JobRun) -> bool:
    try:
        return bool(get_redis().exists(cancel_key(run.id)))
    except Exception:  # noqa: BLE001 - Redis down: abandoned is the truth too
        return False


def abandon(run: JobRun, cancelled: bool = False) -> None:
    """End a run whose worker is gone (no commit): `abandoned`, or `cancelled` when an admin
    asked, with the truth about what it had committed."""
    percent = _last_progress(run)
    saved = ended_early(run, "its worker stopped") or "what it committed before is kept"
    run.status = "cancelled" if cancelled else "abandoned"
    run.progress = percent
    run.finished_at = utcnow()
    what = "Cancelled" if cancelled else "Abandoned"
    run.message = f"{what} at {percent}%: its worker stopped without finishing it; {saved}"[:500]
    run.error = ("The worker running this job stopped (killed, out of memory or its host lost) and stopped "
                 "renewing the run's lease. Retry to run it again.")


@job("jobs.recover", title="Recover lost job runs", queue="high", timeout=300)
def recover(ctx, **_params) -> dict:
    """Re-queue runs whose RQ job vanished; mark runs whose worker is gone abandoned."""
    queued, taken, running = _lost_runs(utcnow())
    for run in queued:
        push_run(run.id, run.kind)
    for run in taken:
        # Not pushed again: a job that kills its worker on start would otherwise loop forever.
        abandon(run)
        log.warning("job run %s (%s) abandoned: the worker that took it stopped before starting it",
                    run.id, run.kind)
    for run in running:
        # Cancel pressed while the dead worker's lease still ran: the run ends as cancelled.
        abandon(run, cancelled=_cancel_requested(run))
        log.warning("job run %s (%s) abandoned: its worker stopped renewing its lease", run.id, run.kind)
    ended = taken + running
    return {"message": f"{len(queued)} re-queued, {len(ended)} marked abandoned",
            "requeued": [r.id for r in queued], "abandoned": [r.id for r in ended]}
