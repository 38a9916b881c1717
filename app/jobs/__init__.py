"""Background jobs: declare with `@job`, start with `enqueue()`, watch through JobRun.

A job function takes a JobContext and keyword ids, never ORM objects:

    @job("audit.verify", title="Verify the audit chain", timeout=600)
    def verify_audit(ctx, **params) -> dict: ...

`enqueue(kind, org_id=..., **ids)` writes the JobRun in the caller's transaction and
pushes the RQ job only after that transaction commits, so a rolled-back request never
leaves a job pointing at nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.models import JobRun, db

PENDING_KEY = "vigil_pending_jobs"


@dataclass(frozen=True)
class JobSpec:
    kind: str
    func: Callable[..., dict[str, Any] | None]
    title: str
    queue: str = "default"
    timeout: int = 1800


REGISTRY: dict[str, JobSpec] = {}


def job(kind: str, *, title: str, queue: str = "default", timeout: int = 1800) -> Callable:
    """Register a job function under `kind`, with its queue and timeout."""

    def decorator(func: Callable) -> Callable:
        if kind in REGISTRY and REGISTRY[kind].func is not func:
            raise ValueError(f"job kind {kind!r} registered twice")
        REGISTRY[kind] = JobSpec(kind, func, title, queue, timeout)
        return func

    return decorator


def rq_job_id(run_id: int) -> str:
    """Deterministic RQ id: enqueuing the same run twice cannot create two jobs."""
    return f"vigil-jobrun-{run_id}"


def enqueue(
    kind: str,
    *,
    org_id: int | None,
    requested_by_id: int | None = None,
    retry_of_id: int | None = None,
    **params: Any,
) -> JobRun:
    """Record a queued JobRun now; push it to RQ once the current transaction commits."""
    if kind not in REGISTRY:
        raise KeyError(f"unknown job kind {kind!r}")
    if requested_by_id is not None:
        # A person is waiting for this run: while the queue does not answer they get a 503 to
        # retry, and nothing is recorded. System runs (no requester) are recorded anyway and
        # pushed by jobs.recover once the queue answers again.
        from app.jobs.queue import ensure_available

        ensure_available()
    run = JobRun(
        kind=kind,
        org_id=org_id,
        requested_by_id=requested_by_id,
        retry_of_id=retry_of_id,
        params=params,
        status="queued",
        message="Waiting for a worker",
    )
    db.session.add(run)
    db.session.flush()
    run.rq_job_id = rq_job_id(run.id)
    db.session.info.setdefault(PENDING_KEY, []).append((run.id, kind))
    return run


def job_title(kind: str) -> str:
    spec = REGISTRY.get(kind)
    return spec.title if spec else kind


@event.listens_for(Session, "after_commit")
def _push_pending_jobs(session: Session) -> None:
    pending = session.info.pop(PENDING_KEY, None)
    if not pending:
        return
    from app.jobs.queue import push_run

    # No SQL may run here (the transaction is over): everything needed travels in `pending`.
    for run_id, kind in pending:
        try:
            push_run(run_id, kind)
        except Exception:  # noqa: BLE001 - the data is saved; the run stays queued
            # The request must not fail after its data committed: jobs.recover pushes the
            # run again once the queue answers.
            logging.getLogger(__name__).exception("could not queue job run %s (%s)", run_id, kind)


@event.listens_for(Session, "after_rollback")
def _drop_pending_jobs(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


# The Jobs pages live beside the queue they show.
from flask import Blueprint  # noqa: E402

from app.core.navigation import register_section  # noqa: E402

bp = Blueprint("jobs", __name__, url_prefix="/jobs")
# Housekeeping, not a domain: listed with Administration so the top level stays short.
register_section("admin", "Administration", 90, [("jobs.index", "list-task", "Jobs", "jobs.view")])

from app.jobs import housekeeping, recovery, views  # noqa: E402,F401
