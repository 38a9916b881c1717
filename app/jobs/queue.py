"""Redis connections and RQ queues: the real server, or fakeredis in embedded mode."""

from __future__ import annotations

from typing import Any

import redis
from flask import Flask, current_app
from rq import Queue

QUEUE_NAMES = ("high", "default", "low")


def make_redis(config: dict[str, Any]) -> redis.Redis:
    """A client for REDIS_URL, or an in-process fakeredis server when none is set.

    Creating the client does not connect; the first command does.
    """
    url = config.get("REDIS_URL")
    if url:
        return redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)
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
