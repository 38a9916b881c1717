"""A readable log for `vigil serve`: no line per static file, one line for the periodic
jobs instead of one per registration, and each scheduled enqueue named by its job.

RQ's cron scheduler logs "Registered 'app.jobs.schedule.start_periodic' ..." once per
periodic job and "Enqueued job start_periodic to queue high" on every tick: the same
function for every job (app/jobs/schedule.py registers `start_periodic(kind)`, the kind
as the cron job's name). The filter below drops the first and names the job in the second.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from werkzeug.serving import WSGIRequestHandler

CRON_LOGGER = "rq.cron"
STACK_DEPTH = 8


class QuietStaticHandler(WSGIRequestHandler):
    """Werkzeug's request log without the successful static-file lines (errors still show)."""

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        path = getattr(self, "path", "") or ""
        if path.startswith("/static/") and str(code)[:1] in ("2", "3"):
            return
        super().log_request(code, size)


def _cron_job_name() -> str | None:
    # The record is made inside rq's CronJob.enqueue, which knows its job's name; the
    # message does not carry it (rq 2.x logs only the function name).
    frame = sys._getframe(1)
    for _ in range(STACK_DEPTH):
        if frame is None:
            return None
        owner = frame.f_locals.get("self")
        if frame.f_code.co_name == "enqueue" and getattr(owner, "name", None) and hasattr(owner, "queue_name"):
            return str(owner.name)
        frame = frame.f_back
    return None


class CronLogFilter(logging.Filter):
    """Drops the per-job registration lines; names the job in each enqueue line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("Registered '"):
            return False
        if message.startswith("Enqueued job "):
            name = _cron_job_name()
            if name:
                queue = message.rsplit(" ", 1)[-1]
                record.msg, record.args = "Scheduled %s (queue %s)", (name, queue)
        return True


def quiet_scheduler_log() -> None:
    """Install the cron filter once (serve may be started twice in one process by tests)."""
    logger = logging.getLogger(CRON_LOGGER)
    if not any(isinstance(f, CronLogFilter) for f in logger.filters):
        logger.addFilter(CronLogFilter())
