"""The job registry: every `@job` kind with its function, queue and timeout.

The lowest module of app.jobs: the queue, the runner and recovery read REGISTRY, and none of
them imports the app.jobs package itself (whose __init__ imports them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobSpec:
    kind: str
    func: Callable[..., dict[str, Any] | None]
    title: str
    queue: str = "default"
    timeout: int = 1800


REGISTRY: dict[str, JobSpec] = {}


def job(kind: str, *, title: str, queue: str = "default", timeout: int = 1800) -> Callable:
    """Register a job function under `kind`, with its queue and timeout."""

    def decorator(func: Callable) -> Callable:
        if kind in REGISTRY and REGISTRY[kind].func is not func:
            raise ValueError(f"job kind {kind!r} registered twice")
        REGISTRY[kind] = JobSpec(kind, func, title, queue, timeout)
        return func

    return decorator


def rq_job_id(run_id: int) -> str:
    """Deterministic RQ id: enqueuing the same run twice cannot create two jobs."""
    return f"vigil-jobrun-{run_id}"


def job_title(kind: str) -> str:
    spec = REGISTRY.get(kind)
    return spec.title if spec else kind
