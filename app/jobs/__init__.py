"""Background jobs: declare with `@job`, start with `enqueue()`, watch through JobRun.

A job function takes a JobContext and keyword ids, never ORM objects:

    @job("audit.verify", title="Verify the audit chain", timeout=600)
    def verify_audit(ctx, **params) -> dict: ...

`enqueue(kind, org_id=..., **ids)` writes the JobRun in the caller's transaction and
pushes the RQ job only after that transaction commits, so a rolled-back request never
leaves a job pointing at nothing.

This package's __init__ registers the Jobs pages (their blueprint is app/jobs/blueprint.py)
and holds the public names other packages use
(`job`, `enqueue`, ...). The modules of app.jobs import each other, lowest first: registry and
connection, runner, queue, dispatch, recovery; none of them imports this package.
"""

from __future__ import annotations

from app.core.navigation import register_section
from app.jobs.blueprint import bp  # the Jobs pages live beside the queue they show
from app.jobs.dispatch import enqueue
from app.jobs.registry import REGISTRY, JobSpec, job, job_title, rq_job_id

__all__ = ["REGISTRY", "JobSpec", "bp", "enqueue", "job", "job_title", "rq_job_id"]

# Housekeeping, not a domain: listed with Administration so the top level stays short.
register_section("admin", "Administration", 90, [("jobs.index", "list-task", "Jobs", "jobs.view")])

from app.jobs import housekeeping, recovery, views  # noqa: E402,F401
