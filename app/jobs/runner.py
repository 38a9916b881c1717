"""Runs one JobRun: the RQ entry point `execute(run_id)`.

The job's own writes happen in one transaction that commits together with the
`succeeded` status, or rolls back entirely on failure or cancellation, so a failed run
leaves no half-written data. A job that commits as it goes (an import, per batch) is told
apart: the runner counts the session's commits during the run and says what was kept, or
the job says it exactly (`saved=` on JobError / JobCancelled). Live progress goes to Redis
(not the database) so that it is visible while the job's transaction is still open.

While a run executes, its worker renews the run's lease (app/jobs/lease.py); a run whose
lease ran out lost its worker and is ended by jobs.recover (app/jobs/recovery.py).

No user-facing message holds an exception's text unless the job raised JobError on
purpose: anything else is logged with a short error id, and the run shows that id.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.jobs import lease
from app.jobs.connection import get_redis
from app.jobs.registry import REGISTRY
from app.models import JobRun, db, utcnow

log = logging.getLogger(__name__)
PROGRESS_TTL = 86400


COMMITS_KEY = "vigil_commits"


class JobCancelled(Exception):
    """Raised inside a job when an admin asked to cancel it; `saved` says what it had committed."""

    def __init__(self, saved: str | None = None):
        super().__init__(saved or "cancelled")
        self.saved = saved


class JobError(Exception):
    """A failure the job explains itself; its message is shown to the user as is, and `saved`
    (if given) says what the job had committed before it stopped."""

    def __init__(self, message: str, saved: str | None = None):
        super().__init__(message)
        self.saved = saved


def log_failure(logger: logging.Logger, what: str) -> str:
    """Log the exception being handled with a new short error id, and return the id: users
    see the id, never the exception's text (which may hold SQL and parameters)."""
    error_id = secrets.token_hex(4)
    logger.exception("%s (error id %s)", what, error_id)
    return error_id


@event.listens_for(Session, "after_commit")
def _count_commit(session: Session) -> None:
    session.info[COMMITS_KEY] = session.info.get(COMMITS_KEY, 0) + 1


def _commits() -> int:
    return db.session.info.get(COMMITS_KEY, 0)


def progress_key(run_id: int) -> str:
    return f"vigil:jobrun:{run_id}:progress"


def cancel_key(run_id: int) -> str:
    return f"vigil:jobrun:{run_id}:cancel"


class JobContext:
    """What a job function gets: its run's ids, progress reporting and the cancel check."""

    def __init__(self, run: JobRun):
        self.run_id = run.id
        self.org_id = run.org_id
        self.requested_by_id = run.requested_by_id
        self.kind = run.kind
        self._redis = get_redis()

    def progress(self, percent: int, message: str = "") -> None:
        """Report progress 0-100; also where a cancellation request is noticed."""
        percent = max(0, min(100, int(percent)))
        self._redis.hset(progress_key(self.run_id), mapping={"progress": percent, "message": message[:500]})
        self._redis.expire(progress_key(self.run_id), PROGRESS_TTL)
        self.check_cancelled()

    def check_cancelled(self) -> None:
        if self._redis.exists(cancel_key(self.run_id)):
            raise JobCancelled()


def live_progress(run: JobRun) -> tuple[int, str | None]:
    """Progress and message of a run: from Redis while it runs, from the row otherwise."""
    if run.status != "running":
        return run.progress, run.message
    data = get_redis().hgetall(progress_key(run.id))
    if not data:
        return run.progress, run.message
    return int(data.get(b"progress", 0)), data.get(b"message", b"").decode() or run.message


class NoAppContext(RuntimeError):
    """A job ran in a process that gave it no application (see app/worker.py)."""

    def __init__(self) -> None:
        super().__init__("a Vigil job needs the application: run workers with `vigil worker`, or "
                         "`rq worker --worker-class app.worker.FactoryWorker`")


def execute(run_id: int) -> dict[str, Any] | None:
    """RQ entry point: run JobRun `run_id` inside the application context its worker pushed
    (every worker of Vigil's pushes one per job: app/jobs/embedded.py, app/worker.py)."""
    if not has_app_context():
        raise NoAppContext()
    return run_job(run_id)


def run_job(run_id: int) -> dict[str, Any] | None:
    run = db.session.get(JobRun, run_id)
    if run is None:
        log.warning("job run %s no longer exists", run_id)
        return None
    if run.status in ("succeeded", "cancelled", "abandoned"):
        # At-least-once delivery: a redelivered finished run does nothing (an abandoned one
        # runs again only as a new run, by Retry).
        return run.result
    run.status = "running"
    run.started_at = utcnow()
    run.lease_expires_at = lease.expiry()
    run.attempts += 1
    run.message = "Started"
    run.progress = 0
    db.session.commit()
    commits = _commits()

    ctx = JobContext(run)
    spec = REGISTRY[run.kind]
    params = dict(run.params or {})
    try:
        with lease.kept(run_id):
            ctx.check_cancelled()
            result = spec.func(ctx, **params) or {}
        run = db.session.get(JobRun, run_id)
        run.status = "succeeded"
        run.progress = 100
        run.message = str(result.get("message") or "Done")[:500]
        run.result = result
        run.finished_at = utcnow()
        db.session.commit()
        return result
    except JobCancelled as exc:
        db.session.rollback()
        _finish(run_id, "cancelled", f"Cancelled by request; {_saved(exc, _commits() > commits)}")
    except Exception as exc:  # noqa: BLE001 - every failure must land on the JobRun
        db.session.rollback()
        if isinstance(exc, JobError):
            readable = str(exc)
            log.warning("job %s #%s failed: %s", run.kind, run_id, readable)
        else:
            error_id = log_failure(log, f"job {run.kind} #{run_id} failed")
            readable = f"An unexpected error stopped the job (error id {error_id}; details are in the server log)."
        _finish(run_id, "failed", f"Failed; {_saved(exc, _commits() > commits)}", error=readable)
    finally:
        ctx._redis.delete(progress_key(run_id), cancel_key(run_id))
    return None


def _saved(exc: BaseException, committed: bool) -> str:
    """What a stopped run left in the database, as truthfully as the runner can tell."""
    saved = getattr(exc, "saved", None)
    if saved:
        return saved
    return "what it committed before stopping is kept" if committed else "nothing was saved"


def _finish(run_id: int, status: str, message: str, error: str | None = None) -> None:
    run = db.session.get(JobRun, run_id)
    run.status = status
    run.message = message[:500]
    run.error = error
    run.finished_at = utcnow()
    db.session.commit()


def request_cancel(run: JobRun) -> None:
    """Cancel a queued run at once; ask a running one to stop at its next progress report."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    if run.status == "queued":
        try:
            Job.fetch(run.rq_job_id, connection=get_redis()).cancel()
        except NoSuchJobError:
            pass
        run.status = "cancelled"
        run.message = "Cancelled before it started"
        run.finished_at = utcnow()
    elif run.status == "running":
        get_redis().set(cancel_key(run.id), 1, ex=PROGRESS_TTL)
        run.message = "Cancelling..."


def app_for_current() -> Flask:
    return current_app._get_current_object()  # type: ignore[attr-defined]
