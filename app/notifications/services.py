"""The one notification service every domain uses.

`notify()` writes in-app notifications for the chosen users and queues a delivery to
each enabled channel of the organization whose minimum severity the event reaches.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from app.models import Notification, User, db, utcnow
from app.models.notifications import SEVERITIES


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def org_admin_ids(org_id: int) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(User.id).where(
                User.org_id == org_id, User.role == "admin", User.status == "active", User.deleted_at.is_(None)
            )
        )
    )


def notify(
    org_id: int,
    event: str,
    title: str,
    *,
    body: str | None = None,
    severity: str = "info",
    link: str | None = None,
    user_ids: Iterable[int] | None = None,
    deliver: bool = True,
    payload: dict[str, Any] | None = None,
) -> list[Notification]:
    """Notify users of an organization (default: its admins) and queue channel deliveries."""
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    recipients = list(user_ids) if user_ids is not None else org_admin_ids(org_id)
    rows = [
        Notification(org_id=org_id, user_id=uid, event=event, severity=severity, title=title[:255], body=body, link=link)
        for uid in recipients
    ]
    db.session.add_all(rows)
    if deliver:
        from app.notifications.delivery import queue_deliveries

        queue_deliveries(org_id, event, severity, {
            "event": event, "title": title, "body": body, "severity": severity, "link": link,
            **(payload or {}),
        })
    return rows


def unread_count(user_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Notification.id)).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    ) or 0


def for_user(user_id: int) -> sa.Select:
    return sa.select(Notification).where(Notification.user_id == user_id).order_by(Notification.id.desc())


def mark_read(user_id: int, notification_id: int | None = None) -> int:
    """Mark one (or all) of a user's notifications read; returns how many changed."""
    stmt = sa.update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    return db.session.execute(stmt.values(read_at=utcnow())).rowcount
