"""The embedded queue: an RQ worker thread inside the web process (no Redis server).

fakeredis lives in one process, so embedded mode is one web process with this thread.
Signals only work in the main thread, so the worker installs no handlers and times
jobs out with a timer instead of SIGALRM.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask
from rq import SimpleWorker
from rq.timeouts import TimerDeathPenalty

from app.jobs.queue import QUEUE_NAMES
from app.jobs.schedule import build_cron_scheduler

log = logging.getLogger(__name__)


class AppWorker(SimpleWorker):
    """Runs each job in-process inside a fresh application context (used by `vigil worker`)."""

    flask_app: Flask | None = None

    def execute_job(self, job, queue):  # type: ignore[no-untyped-def]
        assert self.flask_app is not None, "set flask_app before work()"
        with self.flask_app.app_context():
            return super().execute_job(job, queue)


class ThreadWorker(AppWorker):
    """The embedded variant: no signal handlers, timer-based job timeouts."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:  # signals belong to the main thread
        pass


class EmbeddedWorker(threading.Thread):
    """Loop: enqueue due periodic jobs, work the queues in burst mode, wait half a second."""

    def __init__(self, app: Flask, poll_seconds: float = 0.5):
        super().__init__(name="vigil-embedded-worker", daemon=True)
        self.app = app
        self.poll_seconds = poll_seconds
        self.stop_event = threading.Event()

    def run(self) -> None:

        connection = self.app.extensions["vigil_redis"]
        cron = build_cron_scheduler(connection)
        worker = ThreadWorker(list(QUEUE_NAMES), connection=connection)
        worker.flask_app = self.app
        while not self.stop_event.is_set():
            try:
                cron.enqueue_jobs()
                worker.work(burst=True, with_scheduler=True, logging_level="WARNING")
            except Exception:  # noqa: BLE001 - the thread must outlive one bad loop
                log.exception("embedded worker loop failed")
            self.stop_event.wait(self.poll_seconds)

    def stop(self) -> None:
        self.stop_event.set()
