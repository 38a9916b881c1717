"""Where IPs and e-mails appear in identity and threat data, registered for indicator
matching (app/indicators/matching.py): security events (sign-ins and every other event),
API key use, users' e-mail addresses, and notification endpoints.

Notification endpoints are registered here rather than from app/notifications so that the
notification package stays free of threat-intelligence imports.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import url_for

from app.indicators.matching import Occurrence, Place, canonical, host_of, register_place
from app.models import ApiKey, NotificationChannel, SecurityEvent, User, db, utcnow

# A safety valve on one place's rows per call; hunts read distinct values first, so only a
# value seen more often than this in 30 days (or ever, on the entity page) is cut short.
FIND_LIMIT = 50_000


# Security events (sign-ins, API token exchanges, lockouts ...) -------------------------------

def _event_occurrences(event: SecurityEvent) -> list[Occurrence]:
    label = f"{event.event_type}{' ' + event.email if event.email else ''}"
    when = event.created_at or utcnow()
    out = []
    for kind, raw in (("ip", event.ip_address), ("email", event.email)):
        value = canonical(kind, raw)
        if value and event.org_id is not None:
            out.append(Occurrence(event.org_id, kind, value, str(event.id), label, when))
    return out


def find_events(org_id: int, since: datetime, kind: str | None, value: str | None) -> list[Occurrence]:
    column = SecurityEvent.ip_address if kind == "ip" else SecurityEvent.email
    stmt = sa.select(SecurityEvent).where(SecurityEvent.org_id == org_id, SecurityEvent.created_at >= since,
                                          column.is_not(None))
    if value is not None:
        stmt = stmt.where(column == value)
    rows = db.session.scalars(stmt.order_by(SecurityEvent.created_at.desc()).limit(FIND_LIMIT))
    return [o for e in rows for o in _event_occurrences(e) if kind is None or o.kind == kind]


def event_values(org_id: int, since: datetime, kind: str) -> set[str]:
    column = SecurityEvent.ip_address if kind == "ip" else SecurityEvent.email
    raw = db.session.scalars(sa.select(column).distinct().where(
        SecurityEvent.org_id == org_id, SecurityEvent.created_at >= since, column.is_not(None)))
    return {value for value in (canonical(kind, r) for r in raw) if value}


def link_event(object_id: str, value: str) -> str:
    field = "email" if "@" in value else "ip"
    return url_for("threats.events", **{field: value})


# API keys: the address a key was last used from --------------------------------------------

def _key_occurrences(key: ApiKey) -> list[Occurrence]:
    value = canonical("ip", key.last_used_ip)
    if not value or key.org_id is None:
        return []
    return [Occurrence(key.org_id, "ip", value, str(key.id), f"API key {key.name}", key.last_used_at or utcnow())]


def find_keys(org_id: int, since: datetime, kind: str | None, value: str | None) -> list[Occurrence]:
    stmt = sa.select(ApiKey).where(ApiKey.org_id == org_id, ApiKey.last_used_at >= since,
                                   ApiKey.last_used_ip.is_not(None))
    if value is not None:
        stmt = stmt.where(ApiKey.last_used_ip == value)
    return [o for k in db.session.scalars(stmt.limit(FIND_LIMIT)) for o in _key_occurrences(k)]


# Users' e-mail addresses ------------------------------------------------------------------

def _user_occurrences(user: User) -> list[Occurrence]:
    value = canonical("email", user.email)
    if not value or user.org_id is None or user.deleted_at is not None:
        return []
    return [Occurrence(user.org_id, "email", value, str(user.id), f"user {user.email}", user.updated_at or utcnow())]


def find_users(org_id: int, since: datetime, kind: str | None, value: str | None) -> list[Occurrence]:
    # A user's address is current state, not an event: every live account is in scope.
    stmt = sa.select(User).where(User.org_id == org_id, User.deleted_at.is_(None))
    if value is not None:
        stmt = stmt.where(sa.func.lower(User.email) == value)
    return [o for u in db.session.scalars(stmt.limit(FIND_LIMIT)) for o in _user_occurrences(u)]


# Notification endpoints (webhook URLs and their hosts) -------------------------------------

def _channel_occurrences(channel: NotificationChannel) -> list[Occurrence]:
    url = canonical("url", (channel.config or {}).get("url"))
    if not url:
        return []
    when = channel.updated_at or utcnow()
    label = f"notification channel {channel.name}"
    out = [Occurrence(channel.org_id, "url", url, str(channel.id), label, when)]
    host = canonical("domain", host_of(url))
    if host:
        out.append(Occurrence(channel.org_id, "domain", host, str(channel.id), label, when))
    return out


def find_channels(org_id: int, since: datetime, kind: str | None, value: str | None) -> list[Occurrence]:
    rows = db.session.scalars(sa.select(NotificationChannel).where(NotificationChannel.org_id == org_id))
    return [o for c in rows for o in _channel_occurrences(c)
            if (kind is None or o.kind == kind) and (value is None or o.value == value)]


register_place(Place("security_event", "Security events", ("ip", "email"), "threats.view", find_events, link_event,
                     model=SecurityEvent, watch=("ip_address", "email"), extract=_event_occurrences,
                     values=event_values))
register_place(Place("api_key", "API key use", ("ip",), "threats.view", find_keys,
                     lambda object_id, value: url_for("auth.api_keys"),
                     model=ApiKey, watch=("last_used_ip",), extract=_key_occurrences))
register_place(Place("user", "Users", ("email",), "user.view", find_users,
                     lambda object_id, value: url_for("admin.user_edit", user_id=int(object_id)),
                     model=User, watch=("email",), extract=_user_occurrences))
register_place(Place("notification_channel", "Notification endpoints", ("url", "domain"), "notifications.channels",
                     find_channels,
                     lambda object_id, value: url_for("notifications.channel_edit", channel_id=int(object_id)),
                     model=NotificationChannel, watch=("config",), extract=_channel_occurrences))
