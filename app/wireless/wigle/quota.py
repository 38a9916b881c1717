"""The WiGLE quota: a 24-hour ledger of counted requests per organization (`wigle_api_calls`)
against a soft and a hard limit from the settings registry.

- below the soft limit everything runs;
- from the soft limit on, only lookups a user asked for run (background batches wait);
- from the hard limit on, nothing runs until enough calls leave the 24-hour window;
- after WiGLE's own refusal ("Too many queries today") nothing runs until the next 00:00
  UTC (WiGLE counts queries per day), unless a later call succeeded.

Rows that WiGLE did not serve (network errors, its refusal, a refused credential) are kept
for the record but not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.core.settings_registry import get_setting
from app.models import WigleApiCall, db, utcnow

WINDOW = timedelta(hours=24)
COUNTED_OUTCOMES = ("ok", "not_found", "bad_response", "server_error")
NOT_METERED_ENDPOINTS = ("v2/profile/user",)


@dataclass(frozen=True)
class QuotaState:
    used: int
    soft: int
    hard: int
    soft_frees_at: datetime | None  # when background lookups may run again
    hard_frees_at: datetime | None  # when any lookup may run again
    refused_until: datetime | None  # after WiGLE's own "too many queries"

    @property
    def at_hard(self) -> bool:
        return self.used >= self.hard

    @property
    def at_soft(self) -> bool:
        return self.used >= self.soft

    def allows(self, user_requested: bool) -> bool:
        if self.refused_until is not None or self.at_hard:
            return False
        return user_requested or not self.at_soft

    def blocked_reason(self, user_requested: bool) -> str | None:
        """Why a lookup may not run now, in words (None: it may)."""
        if self.refused_until is not None:
            return f"WiGLE refused further queries today; retry after {self.refused_until:%Y-%m-%d %H:%M} UTC"
        if self.at_hard:
            return (f"hard limit reached ({self.used}/{self.hard} in 24 h); quota frees at "
                    f"{self.hard_frees_at:%Y-%m-%d %H:%M} UTC")
        if self.at_soft and not user_requested:
            return (f"soft limit reached ({self.used}/{self.soft} in 24 h): only lookups a user asks "
                    f"for run until {self.soft_frees_at:%Y-%m-%d %H:%M} UTC")
        return None

    @property
    def remaining(self) -> int:
        return max(0, self.hard - self.used)


def limits() -> tuple[int, int]:
    hard = int(get_setting("wireless.wigle_hard_limit"))
    soft = min(int(get_setting("wireless.wigle_soft_limit")), hard)
    return soft, hard


def _frees_at(times: list[datetime], used: int, limit: int) -> datetime | None:
    """When the count falls below `limit`: the (used-limit+1)-th oldest call leaves the window."""
    if used < limit:
        return None
    return times[used - limit] + WINDOW


def quota_state(org_id: int, now: datetime | None = None) -> QuotaState:
    now = now or utcnow()
    since = now - WINDOW
    soft, hard = limits()
    times = list(db.session.scalars(
        sa.select(WigleApiCall.requested_at)
        .where(WigleApiCall.org_id == org_id, WigleApiCall.requested_at > since,
               WigleApiCall.outcome.in_(COUNTED_OUTCOMES),
               WigleApiCall.endpoint.not_in(NOT_METERED_ENDPOINTS))
        .order_by(WigleApiCall.requested_at)))
    used = len(times)
    refused_until = None
    refusal = db.session.scalar(
        sa.select(sa.func.max(WigleApiCall.requested_at))
        .where(WigleApiCall.org_id == org_id, WigleApiCall.requested_at > since,
               WigleApiCall.outcome == "rate_limited"))
    if refusal is not None:
        later_ok = db.session.scalar(sa.select(sa.func.count()).select_from(WigleApiCall).where(
            WigleApiCall.org_id == org_id, WigleApiCall.requested_at > refusal, WigleApiCall.outcome == "ok"))
        reset = (refusal + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        if not later_ok and reset > now:
            refused_until = reset
    return QuotaState(used, soft, hard, _frees_at(times, used, soft), _frees_at(times, used, hard), refused_until)


def ledger_recorder(org_id: int):
    """A WigleClient `record` callback: one ledger row per logical request."""
    def record(endpoint: str, bssid: str | None, status: int | None, outcome: str) -> None:
        db.session.add(WigleApiCall(org_id=org_id, endpoint=endpoint[:100], bssid=bssid, status_code=status,
                                    outcome=outcome[:30], requested_at=utcnow()))
        db.session.flush()
    return record


def recent_calls(org_id: int, limit: int = 20) -> list[WigleApiCall]:
    return list(db.session.scalars(sa.select(WigleApiCall).where(WigleApiCall.org_id == org_id)
                                   .order_by(WigleApiCall.requested_at.desc(), WigleApiCall.id.desc())
                                   .limit(limit)))
