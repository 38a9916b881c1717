"""RQ queues: pushing committed runs, reading live progress, counting workers."""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, Worker
from werkzeug.exceptions import ServiceUnavailable

from app.core.health import register_health_detail
from app.jobs.connection import get_redis, is_embedded
from app.jobs.registry import REGISTRY, rq_job_id
from app.jobs.runner import live_progress as read_live_progress

QUEUE_NAMES = ("high", "default", "low")
# What "Redis does not answer" looks like to redis-py (a closed port, a dead host).
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
UNAVAILABLE_MESSAGE = "The job queue is unavailable; nothing was started. Try again in a minute."
PROGRESS_UNAVAILABLE = "Live progress is unavailable: the job queue does not answer."


class QueueUnavailable(ServiceUnavailable):
    """A person asked for a job while Redis does not answer: a 503 they can retry."""


def get_queue(name: str = "default") -> Queue:
    # Every Vigil job declares its own timeout (@job); this default only covers the
    # scheduler's own small enqueue jobs.
    return Queue(name, connection=get_redis(), default_timeout=600)


def ensure_available() -> None:
    """Raise QueueUnavailable unless Redis answers a PING (checked before a person's job is
    recorded, so a refused request leaves no JobRun behind)."""
    try:
        get_redis().ping()
    except REDIS_DOWN as exc:
        raise QueueUnavailable(UNAVAILABLE_MESSAGE, retry_after=30) from exc


def queue_workers() -> int | str:
    """Registered RQ workers ("embedded": the worker thread of `vigil serve`)."""
    if is_embedded():
        return "embedded"
    return Worker.count(connection=get_redis())


def live_progress(run) -> tuple[int, str | None]:
    """A run's live progress, or its stored progress with a note while Redis does not answer."""
    try:
        return read_live_progress(run)
    except REDIS_DOWN:
        return run.progress, PROGRESS_UNAVAILABLE


def push_run(run_id: int, kind: str) -> None:
    """Put a committed JobRun on its RQ queue."""
    spec = REGISTRY[kind]
    get_queue(spec.queue).enqueue(
        "app.jobs.runner.execute",
        run_id,
        job_id=rq_job_id(run_id),
        job_timeout=spec.timeout,
        result_ttl=3600,
        failure_ttl=7 * 86400,
        description=f"{kind} #{run_id}",
    )


# /health counts the workers while Redis answers.
register_health_detail("workers", lambda checks: queue_workers() if checks["redis"] == "ok" else None)
