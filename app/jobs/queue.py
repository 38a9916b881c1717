"""Redis connections and RQ queues: the real server, or fakeredis in embedded mode."""

from __future__ import annotations

from typing import Any

import redis
from flask import Flask, current_app
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry
from rq import Queue, Worker
from werkzeug.exceptions import ServiceUnavailable

from app.core.health import register_health_detail
from app.jobs.runner import live_progress as read_live_progress

QUEUE_NAMES = ("high", "default", "low")
# What "Redis does not answer" looks like to redis-py (a closed port, a dead host).
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
UNAVAILABLE_MESSAGE = "The job queue is unavailable; nothing was started. Try again in a minute."
PROGRESS_UNAVAILABLE = "Live progress is unavailable: the job queue does not answer."


class QueueUnavailable(ServiceUnavailable):
    """A person asked for a job while Redis does not answer: a 503 they can retry."""


def make_redis(config: dict[str, Any]) -> redis.Redis:
    """A client for REDIS_URL, or an in-process fakeredis server when none is set.

    Creating the client does not connect; the first command does.
    """
    url = config.get("REDIS_URL")
    if url:
        # Two quick retries, not redis-py's default ten with backoff (about 4 s per command on
        # a closed port): with Redis down, pages must stay fast (issue 11.8).
        return redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30,
                                    retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 2))
    import fakeredis

    return fakeredis.FakeRedis(server=fakeredis.FakeServer())


def is_embedded(app: Flask | None = None) -> bool:
    return not (app or current_app).config.get("REDIS_URL")


def get_redis() -> redis.Redis:
    return current_app.extensions["vigil_redis"]


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
    from app.jobs import REGISTRY, rq_job_id

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
