"""Periodic jobs, declared as data and handed to RQ's own cron scheduler.

`vigil scheduler` builds a CronScheduler from PERIODIC_JOBS at start (so the running
schedule is always exactly this list) and runs it; the embedded worker thread calls
`enqueue_jobs()` on the same scheduler in its loop. The scheduler logs each enqueue as
"Scheduled <job kind> (queue q)" itself; rq's own lines name only `start_periodic`, the same
function for every job, so they are kept to warnings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import has_app_context
from redis import Redis
from rq.cron import CronJob, CronScheduler

from app.jobs.dispatch import enqueue
from app.jobs.recovery import lost
from app.jobs.runner import NoAppContext
from app.models import JobRun, db

log = logging.getLogger(__name__)
RQ_CRON_LOGGER = "rq.cron"


@dataclass(frozen=True)
class PeriodicJob:
    kind: str  # a registered job kind (app.jobs.REGISTRY)
    queue: str = "low"
    interval: int | None = None  # seconds
    cron: str | None = None  # crontab expression, UTC
    # "module:function" answering whether there is work; False records no run at all.
    only_if: str | None = None


PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("audit.verify", cron="17 3 * * *"),
    PeriodicJob("audit.checkpoint", interval=900, only_if="app.audit_anchor:has_new_head"),
    PeriodicJob("notifications.retry_due", queue="default", interval=60,
                only_if="app.notifications.delivery:has_due"),
    PeriodicJob("notifications.digest", interval=3600, only_if="app.notifications.routing:has_digest_work"),
    PeriodicJob("platform.prune", cron="41 4 * * *"),
    PeriodicJob("jobs.recover", queue="high", interval=60, only_if="app.jobs.recovery:has_lost_runs"),
    PeriodicJob("threats.detect", queue="high", interval=60,
                only_if="app.threats.detection:has_recent_activity"),
    PeriodicJob("metrics.snapshot_all", cron="23 2 * * *", only_if="app.metrics.services:has_metrics"),
    PeriodicJob("metrics.refresh_live", interval=3600, only_if="app.metrics.live:has_live_metrics"),
    PeriodicJob("wireless.rescore_dirty", interval=300, only_if="app.wireless.rescore:has_dirty_networks"),
    PeriodicJob("fleet.mark_offline", queue="high", interval=60, only_if="app.fleet.offline:has_newly_offline"),
    PeriodicJob("fleet.evaluate_alerts", queue="high", interval=60, only_if="app.fleet.alert_rules:has_absence_work"),
    PeriodicJob("fleet.prune_rollups", cron="7 3 * * *", only_if="app.fleet.retention:has_old_rollups"),
    PeriodicJob("fleet.prune_facts", cron="12 3 * * *", only_if="app.fleet.retention:has_excess_facts"),
    PeriodicJob("compliance.apply_findings", interval=3600, only_if="app.compliance.jobs:has_assessments"),
    PeriodicJob("compliance.evidence_expiry", cron="31 5 * * *", only_if="app.compliance.jobs:has_assessments"),
    PeriodicJob("compliance.auto_evidence", cron="47 4 * * *", only_if="app.compliance.jobs:has_assessments"),
    PeriodicJob("roadmap.regenerate_all", interval=3600, only_if="app.roadmap.jobs:has_profiles"),
    PeriodicJob("alerts.prune_resolved", cron="27 3 * * *", only_if="app.fleet.retention:has_old_alerts"),
    PeriodicJob("fleet.expire_commands", queue="high", interval=60, only_if="app.fleet.commands:has_stale_commands"),
    PeriodicJob("fleet.backups_schedule", queue="default", interval=60, only_if="app.fleet.backups:has_due_backups"),
    PeriodicJob("fleet.backups_retention", interval=3600, only_if="app.fleet.backups:has_retention_work"),
    PeriodicJob("fleet.prune_commands", cron="47 4 * * *", only_if="app.fleet.commands:has_old_commands"),
    PeriodicJob("fleet.prune_telemetry", cron="33 3 * * *", only_if="app.fleet.retention:has_old_telemetry"),
    PeriodicJob("exposure.expire_uploads", interval=900, only_if="app.exposure.uploads:has_expired_uploads"),
    PeriodicJob("surface.reverify", cron="37 5 * * *", only_if="app.surface.domains:has_reverify_work"),
    PeriodicJob("surface.scheduled_scans", interval=300, only_if="app.surface.domains:has_due_scans"),
    PeriodicJob("surface.cleanup_results", interval=3600, only_if="app.surface.scans:has_expired_results"),
    PeriodicJob("exposure.recheck_monitored", interval=3600, only_if="app.exposure.monitoring:has_due_addresses"),
    PeriodicJob("bait.expire_tokens", interval=300, only_if="app.bait.services:has_expired_tokens"),
    PeriodicJob("reports.run_schedules", interval=300, only_if="app.reports.schedules:has_due_schedules"),
    PeriodicJob("reports.prune", cron="53 3 * * *", only_if="app.reports.services:has_old_reports"),
    PeriodicJob("backup.create", cron="11 1 * * *"),
    PeriodicJob("backup.check", cron="41 7 * * *"),
    PeriodicJob("backup.restore_test", cron="29 4 * * 0"),
    PeriodicJob("fleet.demo_heartbeats", queue="high", interval=60, only_if="app.fleet.demo_fleet:has_demo_devices"),
)


def start_periodic(kind: str) -> None:
    """What the scheduler enqueues: a JobRun for `kind` with no org, run at once."""
    if not has_app_context():
        raise NoAppContext()
    import sqlalchemy as sa


    # A run of this kind still waiting or working makes another one pointless; a lost one does
    # not: its worker died, its RQ job vanished, or a worker took it and died before starting
    # it (else a lost jobs.recover run would block the recovery of itself).
    busy = [r for r in db.session.scalars(
        sa.select(JobRun).where(JobRun.kind == kind, JobRun.org_id.is_(None),
                                JobRun.status.in_(("queued", "running"))).limit(5)
    ) if not lost(r)]
    if not busy and _has_work(kind):
        enqueue(kind, org_id=None)
        db.session.commit()
    return None


def _has_work(kind: str) -> bool:
    import importlib

    item = next((p for p in PERIODIC_JOBS if p.kind == kind), None)
    if item is None or item.only_if is None:
        return True
    module, _, name = item.only_if.partition(":")
    return bool(getattr(importlib.import_module(module), name)())


class PeriodicScheduler(CronScheduler):
    """RQ's cron scheduler, naming the job kind of each enqueue in its log."""

    def enqueue_jobs(self) -> list[CronJob]:
        enqueued = super().enqueue_jobs()
        for item in enqueued:
            log.info("Scheduled %s (queue %s)", item.name, item.queue_name)
        return enqueued


def build_cron_scheduler(connection: Redis) -> PeriodicScheduler:
    # rq's INFO lines ("Registered 'app.jobs.schedule.start_periodic' ...", "Enqueued job
    # start_periodic ...") say the same for every job; PeriodicScheduler says which one.
    logging.getLogger(RQ_CRON_LOGGER).setLevel(logging.WARNING)
    scheduler = PeriodicScheduler(connection=connection, logging_level="WARNING", name="vigil-cron")
    for item in PERIODIC_JOBS:
        scheduler.register(
            start_periodic,
            queue_name=item.queue,
            args=(item.kind,),
            interval=item.interval,
            cron=item.cron,
            name=item.kind,
        )
    return scheduler
