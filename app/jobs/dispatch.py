"""Starting jobs: `enqueue()` records a JobRun in the caller's transaction and pushes it to RQ
only after that transaction commits, so a rolled-back request never leaves a job pointing at
nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

# The module, not its functions: the push after commit looks push_run up when it runs, so a
# test can stand in for a queue that stops answering.
from app.jobs import queue as job_queue
from app.jobs.registry import REGISTRY, rq_job_id
from app.models import JobRun, db

PENDING_KEY = "vigil_pending_jobs"


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
        job_queue.ensure_available()
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


@event.listens_for(Session, "after_commit")
def _push_pending_jobs(session: Session) -> None:
    pending = session.info.pop(PENDING_KEY, None)
    if not pending:
        return
    # No SQL may run here (the transaction is over): everything needed travels in `pending`.
    for run_id, kind in pending:
        try:
            job_queue.push_run(run_id, kind)
        except Exception:  # noqa: BLE001 - the data is saved; the run stays queued
            # The request must not fail after its data committed: jobs.recover pushes the
            # run again once the queue answers.
            logging.getLogger(__name__).exception("could not queue job run %s (%s)", run_id, kind)


@event.listens_for(Session, "after_rollback")
def _drop_pending_jobs(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)
