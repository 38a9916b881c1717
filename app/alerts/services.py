"""The Alerts page's queries and bulk actions, across every domain (scoped to one organization).

Nothing here names a domain: labels and target pages come from the rule-type registry.
Alerts are also a linkable type, so an incident can point at any alert.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app import audit
from app.alerting import registry, service
from app.core import linkable
from app.models import Alert, AuditLog, db
from app.notifications.services import app_path

ORDER = (sa.case({"critical": 0, "warning": 1, "info": 2}, value=Alert.severity), Alert.fired_at.desc(),
         Alert.id.desc())


def filtered(org_id: int, visible: list[str], *, domain: str | None = None, severity: str | None = None,
             status: str = "active", target: str | None = None) -> sa.Select:
    """The organization's alerts of the visible domains matching the filters: critical first, then newest."""
    stmt = sa.select(Alert).where(Alert.org_id == org_id, Alert.domain.in_(visible))
    if status == "active":
        stmt = stmt.where(Alert.status != "resolved")
    elif status != "all":
        stmt = stmt.where(Alert.status == status)
    if domain:
        stmt = stmt.where(Alert.domain == domain)
    if severity:
        stmt = stmt.where(Alert.severity == severity)
    if target:
        like = f"%{target.strip().replace('%', '').replace('_', '')}%"
        stmt = stmt.where(sa.or_(Alert.target_label.ilike(like), Alert.target_key.ilike(like)))
    return stmt.order_by(*ORDER)


def active_by_domain(org_id: int, visible: list[str]) -> dict[str, int]:
    """How many alerts are active per visible domain (the page's tabs)."""
    rows = db.session.execute(sa.select(Alert.domain, sa.func.count(Alert.id)).where(
        Alert.org_id == org_id, Alert.domain.in_(visible), Alert.status != "resolved").group_by(Alert.domain))
    return dict(rows.all())


link_of = registry.link_of  # the page of the alert's object


def acknowledge_many(org_id: int, visible: list[str], ids: list[int], actor: Any) -> list[int]:
    """Acknowledge the organization's open or muted alerts among `ids` (each audited); returns their ids."""
    if not ids:
        return []
    alerts = db.session.scalars(sa.select(Alert).where(Alert.org_id == org_id, Alert.domain.in_(visible),
                                                       Alert.id.in_(ids)).order_by(Alert.id)).all()
    done = [a.id for a in alerts if service.acknowledge(a, actor)]
    # The request itself, with what it skipped (not open, not visible, or no such alert here).
    audit.record("alert.bulk_acknowledged", resource_type="organization", resource_id=org_id, org_id=org_id,
                 actor=actor, details={"acknowledged": done, "skipped": [i for i in ids if i not in set(done)][:200]})
    return done


def history(alert: Alert) -> list[AuditLog]:
    return db.session.scalars(sa.select(AuditLog).where(AuditLog.resource_type == "alert",
                                                        AuditLog.resource_id == str(alert.id))
                              .order_by(AuditLog.id)).all()


def _load(org_id: int, object_id: str) -> Alert | None:
    return db.session.scalar(sa.select(Alert).where(Alert.org_id == org_id, Alert.id == int(object_id)))


def _events(alert: Alert) -> list[tuple[Any, str]]:
    """When it fired (from the row itself), then what happened to it (its audit history)."""
    fired = (alert.fired_at, f"Alert {alert.id} fired: {alert.message}")
    return [fired, *((h.created_at, f"Alert {alert.id}: {h.action.removeprefix('alert.')}"
                      + (f" ({h.new_values['note']})" if (h.new_values or {}).get("note") else ""))
                     for h in history(alert) if h.action != "alert.opened")]


# An incident opened from an alert starts at the alert's severity.
INCIDENT_SEVERITY = {"critical": "critical", "warning": "medium", "info": "low"}

linkable.register(linkable.LinkableType(
    "alert", "Alert", _load, lambda a: f"{a.message} ({a.target_label})",
    lambda a: app_path("alerts.detail", alert_id=a.id), _events,
    severity=lambda a: INCIDENT_SEVERITY.get(a.severity)))
