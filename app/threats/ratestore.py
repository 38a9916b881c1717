"""Where the rate limiter keeps its counters: Redis, or this process's memory while Redis
does not answer.

Redis down must not take sign-in and every page with it (issue 11.8): a failed Redis
command switches the limiter to per-process counters (logged once per outage), and Redis
is tried again every RETRY_SECONDS, so recovery needs no restart. Per-process limits are
weaker (each gunicorn worker counts alone) but still bound a single client; blocks are
also in the database, which the sign-in check reads (ratelimit.credential_block).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import current_app
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.core.health import register_health_check

log = logging.getLogger(__name__)
RETRY_SECONDS = 15
MAX_LOCAL_KEYS = 50_000  # a flood of distinct addresses cannot grow the fallback without bound
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


class LocalCounters:
    """Keys with expiry in a dict, behind a lock (gunicorn threads share one process)."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[Any, float]] = {}
        self.lock = threading.Lock()

    def live(self, key: str, now: float) -> Any:
        value = self.values.get(key)
        if value is None or value[1] <= now:
            self.values.pop(key, None)
            return None
        return value[0]

    def prune(self, now: float) -> None:
        if len(self.values) < MAX_LOCAL_KEYS:
            return
        for key in [k for k, (_, expires) in self.values.items() if expires <= now]:
            del self.values[key]
        if len(self.values) >= MAX_LOCAL_KEYS:
            self.values.clear()  # fail open on memory, never on the database-held blocks

    def incr(self, key: str, ttl: int) -> int:
        now = time.monotonic()
        with self.lock:
            self.prune(now)
            count = int(self.live(key, now) or 0) + 1
            expires = self.values[key][1] if key in self.values else now + ttl
            self.values[key] = (count, expires)
            return count

    def get(self, key: str) -> Any:
        with self.lock:
            return self.live(key, time.monotonic())

    def set(self, key: str, value: Any, ttl: int) -> None:
        now = time.monotonic()
        with self.lock:
            self.prune(now)
            self.values[key] = (value, now + ttl)

    def ttl(self, key: str) -> int:
        now = time.monotonic()
        with self.lock:
            if self.live(key, now) is None:
                return -2
            return max(1, int(self.values[key][1] - now))

    def delete(self, key: str) -> None:
        with self.lock:
            self.values.pop(key, None)

    def delete_where(self, prefix: str, value: Any) -> None:
        with self.lock:
            for key in [k for k, (v, _) in self.values.items() if k.startswith(prefix) and str(v) == str(value)]:
                del self.values[key]


class RateStore:
    """Each operation is given twice: on Redis, and on the local counters."""

    def __init__(self) -> None:
        self.local = LocalCounters()
        self.down_since: float | None = None
        self.retry_at = 0.0

    @property
    def degraded(self) -> bool:
        return self.down_since is not None

    def call(self, on_redis: Callable[[Any], Any], on_local: Callable[[LocalCounters], Any]) -> Any:
        now = time.monotonic()
        if self.down_since is None or now >= self.retry_at:
            try:
                result = on_redis(current_app.extensions["vigil_redis"])
            except REDIS_DOWN as exc:
                if self.down_since is None:
                    log.error("Redis does not answer (%s): rate limiting falls back to per-process counters",
                              type(exc).__name__)
                    self.down_since = now
                self.retry_at = now + RETRY_SECONDS
            else:
                if self.down_since is not None:
                    log.warning("Redis answers again: rate limiting counts in Redis")
                    self.down_since = None
                    self.local = LocalCounters()
                return result
        return on_local(self.local)

    def incr(self, key: str, ttl: int) -> int:
        def on_redis(redis) -> int:
            pipe = redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, ttl)
            return int(pipe.execute()[0])

        return self.call(on_redis, lambda local: local.incr(key, ttl))

    def hit(self, block_keys: list[str], counters: list[str], ttl: int) -> tuple[list[int], list[int]]:
        """The TTLs of `block_keys` and the incremented `counters`, in one round trip to Redis
        (one pipeline) rather than one per key: the rate limiter's whole per-request cost."""

        def on_redis(redis) -> tuple[list[int], list[int]]:
            pipe = redis.pipeline(transaction=False)
            for key in block_keys:
                pipe.ttl(key)
            for key in counters:
                pipe.incr(key)
                pipe.expire(key, ttl)
            out = pipe.execute()
            return [int(t) for t in out[:len(block_keys)]], [int(c) for c in out[len(block_keys)::2]]

        def on_local(local: LocalCounters) -> tuple[list[int], list[int]]:
            return [local.ttl(key) for key in block_keys], [local.incr(key, ttl) for key in counters]

        return self.call(on_redis, on_local)

    def get(self, key: str) -> Any:
        return self.call(lambda redis: redis.get(key), lambda local: local.get(key))

    def set(self, key: str, value: Any, ttl: int) -> None:
        self.call(lambda redis: redis.set(key, value, ex=ttl), lambda local: local.set(key, value, ttl))

    def ttl(self, key: str) -> int:
        return self.call(lambda redis: redis.ttl(key), lambda local: local.ttl(key))

    def delete(self, key: str) -> None:
        self.call(lambda redis: redis.delete(key), lambda local: local.delete(key))

    def delete_where(self, prefix: str, value: Any) -> None:
        """Delete the keys under `prefix` holding `value` (a block found by its entry id)."""

        def on_redis(redis) -> None:
            for key in redis.scan_iter(match=prefix + "*", count=500):
                if redis.get(key) in (str(value).encode(), str(value)):
                    redis.delete(key)

        self.call(on_redis, lambda local: local.delete_where(prefix, value))


def store() -> RateStore:
    """The application's store (one per process, created on first use)."""
    return current_app.extensions.setdefault("vigil_rate_store", RateStore())


register_health_check("rate_limiting", lambda: "per-process fallback" if store().degraded else None)
