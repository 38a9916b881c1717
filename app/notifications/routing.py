"""Which channels an event goes to, and when: routing rules, quiet hours, the daily digest.

- **Routes.** An organization without routes sends an event to every enabled channel whose
  minimum severity it reaches (as before routing existed). With routes, a channel gets an
  event only when one of its routes takes the event's domain (an empty list: every domain)
  at the event's severity, and the channel's own minimum still applies.
- **Quiet hours** ("22:00" to "07:00" in the organization's time zone, crossing midnight
  or not): deliveries are held, not dropped. A held delivery is a pending row due when the
  quiet hours end, without a job; `notifications.retry_due` queues it then. Critical
  events go out at once unless the policy says otherwise. The in-app bell is never held.
- **Digest.** Once a day, at the policy's local hour, the organization's e-mail channels
  get one message listing the alerts still open (`notifications.digest`, hourly).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from app import audit
from app.alerting.maintenance import parse_hhmm, zone
from app.alerting.registry import DOMAIN_LABELS
from app.models import Alert, NotificationChannel, NotificationPolicy, NotificationRoute, db
from app.models.base import as_dict
from app.models.notifications import SEVERITIES


def rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def domain_of(event: str, payload: dict[str, Any]) -> str:
    """An alert names its domain; another event's domain is its prefix ("threat.detected" -> "threat")."""
    return payload.get("domain") or event.split(".", 1)[0]


def policy_of(org_id: int) -> NotificationPolicy | None:
    return db.session.scalar(sa.select(NotificationPolicy).where(NotificationPolicy.org_id == org_id))


def routed(org_id: int, channels: list[NotificationChannel], domain: str, severity: str) -> list[NotificationChannel]:
    """The channels this event goes to (see the module docstring)."""
    wanted = [c for c in channels if rank(severity) >= rank(c.min_severity)]
    routes = db.session.scalars(sa.select(NotificationRoute).where(
        NotificationRoute.org_id == org_id, NotificationRoute.is_enabled.is_(True))).all()
    if not routes:
        return wanted
    taken = {r.channel_id for r in routes
             if (not r.domains or domain in {ALIASES.get(d, d) for d in r.domains})
             and rank(severity) >= rank(r.min_severity)}
    return [c for c in wanted if c.id in taken]


def quiet_until(policy: NotificationPolicy | None, severity: str, now: datetime) -> datetime | None:
    """When the quiet hours around `now` end (UTC), or None when a delivery may go now."""
    if policy is None or not policy.quiet_start or not policy.quiet_end:
        return None
    if severity == "critical" and policy.quiet_allows_critical:
        return None
    start, end = parse_hhmm(policy.quiet_start), parse_hhmm(policy.quiet_end)
    if start is None or end is None or start == end:
        return None
    tz = zone(policy.timezone)
    local = now.astimezone(tz)
    at = local.time().replace(second=0, microsecond=0, tzinfo=None)

    def end_on(day) -> datetime:
        return datetime.combine(day, end, tzinfo=tz).astimezone(now.tzinfo)

    if start < end:
        return end_on(local.date()) if start <= at < end else None
    if at >= start:
        return end_on(local.date() + timedelta(days=1))
    return end_on(local.date()) if at < end else None


def describe(policy: NotificationPolicy | None) -> str:
    if policy is None or not policy.quiet_start or not policy.quiet_end:
        return "No quiet hours."
    tail = "; critical events still go out" if policy.quiet_allows_critical else ""
    return f"Quiet from {policy.quiet_start} to {policy.quiet_end} ({policy.timezone}){tail}."


# ---------------------------------------------------------------- digest

def digest_due(policy: NotificationPolicy, now: datetime) -> bool:
    """The digest's local hour has come today and today's digest has not gone out."""
    local = now.astimezone(zone(policy.timezone))
    return (policy.digest_enabled and local.time() >= time(policy.digest_hour)
            and policy.last_digest_on != local.date())


def open_alerts(org_id: int) -> list[Alert]:
    rank_sql = sa.case({"critical": 0, "warning": 1, "info": 2}, value=Alert.severity)
    return list(db.session.scalars(sa.select(Alert).where(Alert.org_id == org_id, Alert.status != "resolved")
                                   .order_by(rank_sql, Alert.domain, Alert.fired_at)))


DIGEST_LINES = 200


def digest_text(alerts: list[Alert], now: datetime) -> tuple[str, str]:
    """The digest's title and body: the alerts still open, by severity, with their age."""
    title = f"{len(alerts)} alert(s) still open" if alerts else "No open alerts"
    lines = []
    for a in alerts[:DIGEST_LINES]:
        hours = (now - a.fired_at).total_seconds() / 3600
        lines.append(f"[{a.severity}] {DOMAIN_LABELS.get(a.domain, a.domain)}: {a.message} "
                     f"({a.status}, open {hours:.0f} h)")
    if len(alerts) > DIGEST_LINES:
        lines.append(f"... and {len(alerts) - DIGEST_LINES} more on the Alerts page.")
    return title, "\n".join(lines) or "Nothing stayed open since yesterday."


def has_digest_work() -> bool:
    """The digest job's only_if: some organization has a digest switched on."""
    return db.session.scalar(sa.select(NotificationPolicy.id).where(NotificationPolicy.digest_enabled.is_(True))
                             .limit(1)) is not None


# ---------------------------------------------------------------- managing (audited; the caller commits)

# Events that are not alerts but can be routed too, by their prefix (threat detections are
# alerts of the threats domain now: a route saved for the old "threat" source still takes them).
OTHER_SOURCES: dict[str, str] = {}
ALIASES = {"threat": "threats"}


def source_choices() -> list[tuple[str, str]]:
    return [*sorted(DOMAIN_LABELS.items()), *OTHER_SOURCES.items()]


def route_values(route: NotificationRoute) -> dict[str, Any]:
    return {"channel_id": route.channel_id, "domains": list(route.domains or []), "min_severity": route.min_severity,
            "is_enabled": route.is_enabled}


def add_route(org_id: int, channel: NotificationChannel, domains: list[str], min_severity: str,
              is_enabled: bool = True) -> NotificationRoute:
    route = NotificationRoute(org_id=org_id, channel_id=channel.id, domains=sorted(domains),
                              min_severity=min_severity, is_enabled=is_enabled)
    db.session.add(route)
    db.session.flush()
    audit.record("notification_route.created", resource_type="notification_route", resource_id=route.id,
                 org_id=org_id, new=route_values(route))
    return route


def save_route(route: NotificationRoute, channel: NotificationChannel, domains: list[str], min_severity: str,
               is_enabled: bool) -> bool:
    """Change a routing rule (audited with what changed); False when nothing did."""
    before = route_values(route)
    route.channel_id, route.domains = channel.id, sorted(domains)
    route.min_severity, route.is_enabled = min_severity, is_enabled
    old, new = audit.changes(before, route_values(route))
    if not new:
        return False
    db.session.flush()
    audit.record("notification_route.updated", resource_type="notification_route", resource_id=route.id,
                 org_id=route.org_id, old=old, new=new)
    return True


def delete_route(route: NotificationRoute) -> None:
    audit.record("notification_route.deleted", resource_type="notification_route", resource_id=route.id,
                 org_id=route.org_id, old=route_values(route))
    db.session.delete(route)


POLICY_FIELDS = ["timezone", "quiet_start", "quiet_end", "quiet_allows_critical", "digest_enabled", "digest_hour"]


def save_policy(org_id: int, values: dict[str, Any]) -> bool:
    """Create or change the organization's quiet hours and digest (audited); False when nothing changed."""
    policy = policy_of(org_id)
    before = as_dict(policy, POLICY_FIELDS) if policy else {}
    if policy is None:
        policy = NotificationPolicy(org_id=org_id)
        db.session.add(policy)
    for key, value in values.items():
        setattr(policy, key, value)
    old, new = audit.changes(before, as_dict(policy, POLICY_FIELDS))
    if not new:
        return False
    db.session.flush()
    audit.record("notification_policy.updated", resource_type="notification_policy", resource_id=policy.id,
                 org_id=org_id, old=old, new=new)
    return True
