"""The home page's fleet parts: the fleet tile, open alerts (the shared alerts table, every
domain), offline devices and missed backups in "needs attention now", alerts in the timeline."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import url_for

from app.alerting.registry import visible_domains
from app.dashboard.registry import (
    AttentionItem,
    PostureState,
    TimelineItem,
    Worst,
    register_attention,
    register_org_column,
    register_posture,
    register_timeline,
)
from app.fleet.backups import devices_missing_backups
from app.fleet.dashboard import ACTIVE_ALERT_STATUSES, offline_devices, recent_alerts
from app.fleet.services import online_cutoff
from app.models import Alert, BackupSnapshot, Device, db, utcnow
from app.permissions import can

ALERT_SEVERITY = {"critical": "critical", "warning": "medium", "info": "low"}


def fleet_posture(org_id: int) -> PostureState | None:
    """Active alerts (their trend: fired this week against last week), devices online, the worst alert."""
    now = utcnow()
    live = sa.and_(Device.org_id == org_id, Device.deleted_at.is_(None), Device.enrolled_at.is_not(None))
    enrolled, online = db.session.execute(sa.select(
        sa.func.count(Device.id), sa.func.count(Device.id).filter(Device.last_seen_at >= online_cutoff(now)),
    ).where(live)).one()
    week, fortnight = now - timedelta(days=7), now - timedelta(days=14)
    active, this_week, last_week = db.session.execute(sa.select(
        sa.func.count(Alert.id).filter(Alert.status.in_(ACTIVE_ALERT_STATUSES)),
        sa.func.count(Alert.id).filter(Alert.fired_at >= week),
        sa.func.count(Alert.id).filter(Alert.fired_at >= fortnight, Alert.fired_at < week),
    ).where(Alert.org_id == org_id)).one()
    if not enrolled and not active:
        return None
    # The worst alert the signed-in user may open (a read-only user does not see threats alerts).
    worst = recent_alerts(org_id, 1, domains=visible_domains(can))
    return PostureState(
        value=str(active), caption=f"active alerts · {online} of {enrolled} devices online",
        url=url_for("fleet.dashboard"), trend=this_week - last_week, higher_is_better=False,
        worst=Worst(f"{worst[0].target_label}: {worst[0].message}"[:120],
                    url_for("alerts.detail", alert_id=worst[0].id)) if worst else None,
        status="bad" if worst and worst[0].severity == "critical" else "warn" if active or online < enrolled else "ok",
    )


def open_alerts(org_id: int, limit: int) -> list[AttentionItem]:
    """Active alerts of every domain, critical first."""
    return [AttentionItem(ALERT_SEVERITY.get(a.severity, "medium"), f"{a.target_label}: {a.message}"[:160],
                          url_for("alerts.detail", alert_id=a.id), a.fired_at,
                          f"{a.domain} alert · {a.status}", a.domain)
            for a in recent_alerts(org_id, limit)]


def offline(org_id: int, limit: int) -> list[AttentionItem]:
    """Enrolled devices that stopped sending heartbeats; a scanner offline means no scans."""
    devices, _ = offline_devices(org_id, limit)
    return [AttentionItem("high" if d.device_type == "scanner" else "medium",
                          f"{'Scanner' if d.device_type == 'scanner' else 'Device'} {d.device_name or d.hostname} offline",
                          url_for("fleet.device_detail", device_id=d.id), d.last_seen_at,
                          "never reported" if d.last_seen_at is None else "no heartbeat since last seen", "fleet")
            for d in devices]


def missed_backups(org_id: int, limit: int) -> list[AttentionItem]:
    """Devices whose last scheduled backup has no completed snapshot (the backups' own rule)."""
    return [AttentionItem("high", f"Backup missed on {row['device'].device_name or row['device'].hostname}",
                          url_for("fleet.device_backups", device_id=row["device_id"]), row["expected_at"],
                          "last completed: never" if row["last_completed_at"] is None else "last completed backup is older",
                          "fleet")
            for row in devices_missing_backups(org_id)[:limit]]


def failed_backups(org_id: int, limit: int) -> list[AttentionItem]:
    """Devices whose backup reported failure in the last 24 h, newest failure first."""
    since = utcnow() - timedelta(hours=24)
    rows = db.session.execute(
        sa.select(Device.id, Device.device_name, Device.hostname, sa.func.max(BackupSnapshot.started_at).label("at"),
                  sa.func.count(BackupSnapshot.id).label("n"))
        .join(BackupSnapshot, BackupSnapshot.device_id == Device.id)
        .where(Device.org_id == org_id, Device.deleted_at.is_(None), BackupSnapshot.status == "failed",
               BackupSnapshot.started_at >= since)
        .group_by(Device.id, Device.device_name, Device.hostname).order_by(sa.desc("at")).limit(limit)).all()
    return [AttentionItem("high", f"Backup failed on {row.device_name or row.hostname}",
                          url_for("fleet.device_backups", device_id=row.id), row.at,
                          f"{row.n} failed in 24 h", "fleet") for row in rows]


def alerts_fired(org_id: int, limit: int) -> list[TimelineItem]:
    rows = db.session.scalars(sa.select(Alert).where(Alert.org_id == org_id)
                              .order_by(Alert.fired_at.desc()).limit(limit))
    return [TimelineItem(a.fired_at, f"Alert: {a.target_label}: {a.message}"[:160],
                         url_for("alerts.detail", alert_id=a.id), a.severity, a.domain) for a in rows]


register_posture("fleet", "Fleet and alerts", "data.read", fleet_posture, order=40)
register_attention("alerts", "Open alerts", "data.read", open_alerts, order=10)
register_attention("offline_devices", "Offline devices", "data.read", offline, order=40)
register_attention("missed_backups", "Missed backups", "data.read", missed_backups, order=50)
register_attention("failed_backups", "Failed backups", "data.read", failed_backups, order=55)
register_timeline("alerts", "Alerts", "data.read", alerts_fired, order=20)


def critical_alerts_by_org() -> dict[int, int]:
    return dict(db.session.execute(
        sa.select(Alert.org_id, sa.func.count(Alert.id))
        .where(Alert.status.in_(ACTIVE_ALERT_STATUSES), Alert.severity == "critical").group_by(Alert.org_id)).all())


def offline_by_org() -> dict[int, int]:
    return dict(db.session.execute(
        sa.select(Device.org_id, sa.func.count(Device.id))
        .where(Device.deleted_at.is_(None), Device.enrolled_at.is_not(None),
               Device.status.not_in(("suspended", "decommissioned")),
               sa.or_(Device.last_seen_at.is_(None), Device.last_seen_at < online_cutoff()))
        .group_by(Device.org_id)).all())


register_org_column("critical_alerts", "Critical alerts", critical_alerts_by_org, order=20)
register_org_column("devices_offline", "Devices offline", offline_by_org, order=40)
