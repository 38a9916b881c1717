"""The Redis connection jobs run on: the real server, or fakeredis in embedded mode.

Below the queue and the runner, which both need the connection (the runner for live progress
and cancel flags, the queue to push jobs), so neither has to import the other to get it.
"""

from __future__ import annotations

from typing import Any

import redis
from flask import Flask, current_app
from redis.backoff import ExponentialBackoff
from redis.retry import Retry


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
