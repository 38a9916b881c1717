"""IP blocks: written by threat responses (and, later, the adaptive rate limiter), checked
before a sign-in is even attempted."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from app.alerting.events import publish
from app.models import RateLimitEntry, db, utcnow

ALL_ENDPOINTS = "*"


def active_block(ip: str | None, endpoint: str = "auth", now: datetime | None = None) -> RateLimitEntry | None:
    """The block that stops `ip` on `endpoint` (or on everything) now, if any."""
    if not ip:
        return None
    now = now or utcnow()
    return db.session.scalar(
        sa.select(RateLimitEntry).where(
            RateLimitEntry.ip_address == ip, RateLimitEntry.is_blocked.is_(True),
            RateLimitEntry.blocked_until > now, RateLimitEntry.endpoint.in_((endpoint, ALL_ENDPOINTS)),
        ).order_by(RateLimitEntry.blocked_until.desc()).limit(1)
    )


def block_ip(ip: str, minutes: int, reason: str, org_id: int | None = None, endpoint: str = ALL_ENDPOINTS,
             threat_event_id: int | None = None) -> RateLimitEntry:
    """Block an address until now + minutes (extends an existing block, never shortens it)."""
    now = utcnow()
    until = now + timedelta(minutes=minutes)
    existing = active_block(ip, endpoint, now)
    if existing is not None:
        existing.blocked_until = max(existing.blocked_until, until)
        existing.reason = reason[:255]
        return existing
    entry = RateLimitEntry(org_id=org_id, ip_address=ip, endpoint=endpoint, is_blocked=True, blocked_until=until,
                           window_start=now, window_end=until, reason=reason[:255], threat_event_id=threat_event_id)
    db.session.add(entry)
    publish("threats.ip_blocked", entry=entry)
    return entry


def unblock(entry: RateLimitEntry) -> None:
    entry.is_blocked = False
    entry.blocked_until = utcnow()
    publish("threats.ip_blocked", entry=entry, blocked=False)


def retry_after_seconds(entry: RateLimitEntry) -> int:
    return max(1, int((entry.blocked_until - utcnow()).total_seconds()))
