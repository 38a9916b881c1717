"""A running run's lease: proof that its worker is alive.

`run_job` sets `job_runs.lease_expires_at` when the run starts, and `kept(run_id)` renews it
from a small thread every third of JOB_LEASE_SECONDS for as long as the job executes, on a
connection of its own (the job's transaction is never touched). A worker killed with -9,
an out-of-memory kill or a lost host stops renewing, the lease runs out within
JOB_LEASE_SECONDS, and jobs.recover marks the run abandoned (app/jobs/recovery.py).
The lease lives in the database, next to the run it proves, so it needs no Redis.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app

from app.models import JobRun, db, utcnow

log = logging.getLogger(__name__)
DEFAULT_SECONDS = 60


def seconds(app: Flask | None = None) -> int:
    return max(3, int((app or current_app).config.get("JOB_LEASE_SECONDS") or DEFAULT_SECONDS))


def expiry(app: Flask | None = None) -> datetime:
    return utcnow() + timedelta(seconds=seconds(app))


class Renewer(threading.Thread):
    """Renews one run's lease until stopped (a daemon: it dies with its worker, by design)."""

    def __init__(self, app: Flask, run_id: int):
        super().__init__(name=f"vigil-lease-{run_id}", daemon=True)
        self.app, self.run_id = app, run_id
        self.stopped = threading.Event()

    def run(self) -> None:
        every = seconds(self.app) / 3
        while not self.stopped.wait(every):
            try:
                with self.app.app_context(), db.engine.begin() as conn:
                    conn.execute(sa.update(JobRun).where(JobRun.id == self.run_id, JobRun.status == "running")
                                 .values(lease_expires_at=expiry(self.app)))
            except Exception:  # noqa: BLE001 - a missed renewal is retried; the lease has slack
                log.warning("could not renew the lease of job run %s", self.run_id, exc_info=True)


@contextmanager
def kept(run_id: int) -> Iterator[None]:
    """Renew the run's lease while the block runs."""
    renewer = Renewer(current_app._get_current_object(), run_id)  # type: ignore[attr-defined]
    renewer.start()
    try:
        yield
    finally:
        # Not joined: a renewal waiting on a lock must never hold up the job's own ending.
        renewer.stopped.set()


def expired(run: JobRun, now: datetime | None = None) -> bool:
    """Whether a running run's worker has stopped renewing its lease."""
    return run.lease_expires_at is not None and run.lease_expires_at < (now or utcnow())
