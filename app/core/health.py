"""What /health reports beyond the database and Redis, registered by the layers that know it
(the core never imports them, issue 21): the rate limiter's store (app/threats/ratestore.py)
and the queue's workers (app/jobs/queue.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# name -> () -> None when fine, else what is wrong (the check is then reported as degraded)
HEALTH_CHECKS: dict[str, Callable[[], str | None]] = {}
# name -> (checks) -> a value for the body, or None to leave it out
HEALTH_DETAILS: dict[str, Callable[[dict[str, str]], Any]] = {}


def register_health_check(name: str, check: Callable[[], str | None]) -> None:
    """Report `name` on /health when `check()` says something is wrong."""
    HEALTH_CHECKS[name] = check


def register_health_detail(name: str, detail: Callable[[dict[str, str]], Any]) -> None:
    """Add `name` to the /health body, computed from the checks (None: leave it out)."""
    HEALTH_DETAILS[name] = detail
