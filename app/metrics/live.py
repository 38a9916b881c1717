"""Live metrics: named queries over the identity and threat data that set a metric's value.

A metric with `live_source` takes its value from one of these queries; the
`metrics.refresh_live` job runs them, records changed values in the history and
snapshots the scores. Each query answers for one organization.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from app import audit
from app.models import IocSighting, Metric, SecurityEvent, SecurityIncident, User, db, utcnow


@dataclass(frozen=True)
class LiveQuery:
    label: str
    unit: str
    direction: str  # the direction a metric on this query normally has
    func: Callable[[int], Decimal]


def mfa_coverage(org_id: int) -> Decimal:
    """Percentage of the organization's active users with MFA enabled (100 when none)."""
    active = sa.and_(User.org_id == org_id, User.status == "active", User.deleted_at.is_(None))
    total = db.session.scalar(sa.select(sa.func.count(User.id)).where(active)) or 0
    if total == 0:
        return Decimal(100)
    enabled = db.session.scalar(sa.select(sa.func.count(User.id)).where(active, User.mfa_enabled.is_(True))) or 0
    return (Decimal(enabled) * 100 / Decimal(total)).quantize(Decimal("0.01"))


def accounts_locked_30d(org_id: int) -> Decimal:
    """Distinct accounts locked out in the last 30 days."""
    since = utcnow() - timedelta(days=30)
    return Decimal(db.session.scalar(sa.select(sa.func.count(sa.distinct(SecurityEvent.user_id))).where(
        SecurityEvent.org_id == org_id, SecurityEvent.event_type == "account_locked",
        SecurityEvent.created_at >= since)) or 0)


def open_critical_incidents(org_id: int) -> Decimal:
    """Critical incidents still open or under investigation."""
    return Decimal(db.session.scalar(sa.select(sa.func.count(SecurityIncident.id)).where(
        SecurityIncident.org_id == org_id, SecurityIncident.severity == "critical",
        SecurityIncident.status.in_(("open", "investigating")))) or 0)


def ioc_sightings_7d(org_id: int) -> Decimal:
    """Threat-intelligence sightings in the last 7 days."""
    since = utcnow() - timedelta(days=7)
    return Decimal(db.session.scalar(sa.select(sa.func.count(IocSighting.id)).where(
        IocSighting.org_id == org_id, IocSighting.created_at >= since)) or 0)


LIVE_QUERIES: dict[str, LiveQuery] = {
    "mfa_coverage": LiveQuery("MFA coverage of active users", "%", "higher_is_better", mfa_coverage),
    "accounts_locked_30d": LiveQuery("Accounts locked (30 days)", "accounts", "lower_is_better",
                                     accounts_locked_30d),
    "open_critical_incidents": LiveQuery("Open critical incidents", "incidents", "lower_is_better",
                                         open_critical_incidents),
    "ioc_sightings_7d": LiveQuery("IOC sightings (7 days)", "sightings", "lower_is_better", ioc_sightings_7d),
}


def live_metrics(org_id: int | None = None) -> list[Metric]:
    stmt = sa.select(Metric).where(Metric.live_source.is_not(None), Metric.deleted_at.is_(None))
    if org_id is not None:
        stmt = stmt.where(Metric.org_id == org_id)
    return db.session.scalars(stmt.order_by(Metric.org_id, Metric.id)).all()


def has_live_metrics() -> bool:
    """Cheap check for the scheduler: skip the refresh when no metric is live."""
    return db.session.scalar(sa.select(Metric.id).where(Metric.live_source.is_not(None),
                                                        Metric.deleted_at.is_(None)).limit(1)) is not None


def refresh(org_id: int | None = None) -> dict[int, int]:
    """Run the live queries; a changed value goes to history and the audit log. {org_id: values changed}."""
    from app.metrics.services import _history

    changed: dict[int, int] = {}
    for metric in live_metrics(org_id):
        query = LIVE_QUERIES.get(metric.live_source or "")
        if query is None or metric.is_locked:
            continue
        value = query.func(metric.org_id)
        changed.setdefault(metric.org_id, 0)
        if metric.current_value is not None and Decimal(metric.current_value) == value:
            continue
        old = metric.current_value
        _history(metric, value, f"live: {query.label}", None)
        audit.record("metric.value_recorded", resource_type="metric", resource_id=metric.id, org_id=metric.org_id,
                     actor_type="system", actor_label=f"live query {metric.live_source}",
                     old={"current_value": old}, new={"current_value": value})
        changed[metric.org_id] += 1
    return changed
