"""The one notification service every domain uses, and the rules for managing channels.

`notify()` writes in-app notifications for the chosen users and queues a delivery to
each enabled channel of the organization whose minimum severity the event reaches.
Channel secrets (webhook signing secret, SMTP password) live sealed in channel.config
under "<name>_enc" and never leave this module in clear except to be sent or shown once.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for

from app import audit
from app.alerting import events
from app.alerting.service import ALERT_NOTIFICATION
from app.crypto import encrypt_text
from app.models import Notification, NotificationChannel, NotificationDelivery, User, db, utcnow
from app.models.notifications import SEVERITIES
from app.notifications.delivery import (
    SECRET_FIELDS,
    TEST_EVENT,
    DeliveryFailed,
    outgoing,
    queue_deliveries,
    send,
)

SEVERITY_LABELS = {"info": "Info", "warning": "Warning", "critical": "Critical"}
KIND_LABELS = {"webhook": "Webhook", "email": "E-mail"}


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def app_path(endpoint: str, **values: Any) -> str:
    """A site path for `endpoint`, also outside a request (jobs have no request to build from)."""
    if has_request_context():
        return url_for(endpoint, **values)
    root = current_app.config.get("APPLICATION_ROOT") or "/"
    return current_app.url_map.bind("localhost", script_name=root).build(endpoint, values)


# ---------------------------------------------------------------- in-app notifications

def org_admin_ids(org_id: int) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(User.id).where(
                User.org_id == org_id, User.role == "admin", User.status == "active", User.deleted_at.is_(None)
            ).order_by(User.id)
        )
    )


def org_member_ids(org_id: int, user_ids: Iterable[int]) -> list[int]:
    """The given users that belong to the organization: a notification never crosses tenants."""
    wanted = set(user_ids)
    if not wanted:
        return []
    return list(db.session.scalars(
        sa.select(User.id).where(User.org_id == org_id, User.id.in_(wanted)).order_by(User.id)
    ))


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
    """Notify users of an organization (default: its admins) and queue channel deliveries.

    Works inside the caller's transaction: rows and delivery jobs exist once it commits.
    """
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    recipients = org_member_ids(org_id, user_ids) if user_ids is not None else org_admin_ids(org_id)
    rows = [
        Notification(org_id=org_id, user_id=uid, event=event, severity=severity, title=title[:255], body=body, link=link)
        for uid in recipients
    ]
    db.session.add_all(rows)
    if deliver:
        queue_deliveries(org_id, event, severity, {
            **(payload or {}),
            "event": event, "title": title, "body": body, "severity": severity, "link": link,
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


# ---------------------------------------------------------------- channels

def public_config(channel: NotificationChannel) -> dict[str, Any]:
    """The channel's settings without its sealed secrets: what pages and audit rows may show."""
    return {k: v for k, v in (channel.config or {}).items() if not k.endswith("_enc")}


def has_secret(channel: NotificationChannel, name: str) -> bool:
    return bool((channel.config or {}).get(f"{name}_enc"))


def audit_values(channel: NotificationChannel) -> dict[str, Any]:
    """A channel as audit old/new values; secrets appear only as whether they are set."""
    values: dict[str, Any] = {"name": channel.name, "kind": channel.kind, "min_severity": channel.min_severity,
                              "is_enabled": channel.is_enabled, **public_config(channel)}
    for name in SECRET_FIELDS.get(channel.kind, ()):
        values[f"{name}_set"] = has_secret(channel, name)
    return values


def _apply(channel: NotificationChannel, settings: dict[str, Any], new_secrets: dict[str, str | None]) -> list[str]:
    """Store settings and seal secrets. A secret of None keeps the stored one, "" removes it.

    Returns the names of the secrets that changed (for the audit details, never the values).
    """
    config = {k: v for k, v in (channel.config or {}).items() if k.endswith("_enc")}
    config.update(settings)
    changed = []
    for name in SECRET_FIELDS.get(channel.kind, ()):
        value = new_secrets.get(name)
        if value is None:
            continue
        if value == "":
            if config.pop(f"{name}_enc", None) is not None:
                changed.append(name)
        else:
            config[f"{name}_enc"] = encrypt_text(value)
            changed.append(name)
    channel.config = config  # a new dict: JSON columns do not track in-place changes
    return changed


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


def create_channel(org_id: int, kind: str, *, name: str, min_severity: str, settings: dict[str, Any],
                   new_secrets: dict[str, str | None]) -> NotificationChannel:
    """Add a channel to an organization (audited); the caller commits."""
    if kind not in SECRET_FIELDS:
        raise ValueError(f"unknown channel kind {kind!r}")
    channel = NotificationChannel(org_id=org_id, kind=kind, name=name, min_severity=min_severity,
                                  is_enabled=True, consecutive_failures=0, config={})
    changed = _apply(channel, settings, new_secrets)
    db.session.add(channel)
    db.session.flush()
    audit.record("notification_channel.created", resource_type="notification_channel", resource_id=channel.id,
                 org_id=org_id, new=audit_values(channel), details={"secrets_set": changed} if changed else None)
    return channel


def update_channel(channel: NotificationChannel, *, name: str, min_severity: str, settings: dict[str, Any],
                   new_secrets: dict[str, str | None]) -> bool:
    """Change a channel (audited when anything changed); returns whether anything did."""
    before = audit_values(channel)
    channel.name = name
    channel.min_severity = min_severity
    changed_secrets = _apply(channel, settings, new_secrets)
    old, new = audit.changes(before, audit_values(channel))
    if not new and not changed_secrets:
        return False
    audit.record("notification_channel.updated", resource_type="notification_channel", resource_id=channel.id,
                 org_id=channel.org_id, old=old, new=new,
                 details={"secrets_changed": changed_secrets} if changed_secrets else None)
    return True


def delete_channel(channel: NotificationChannel) -> None:
    """Remove a channel and its delivery history (audited)."""
    audit.record("notification_channel.deleted", resource_type="notification_channel", resource_id=channel.id,
                 org_id=channel.org_id, old=audit_values(channel))
    db.session.delete(channel)


def enable_channel(channel: NotificationChannel) -> bool:
    """Put a disabled channel back in use with a clean failure count; False if it was enabled."""
    if channel.is_enabled:
        return False
    old = {"is_enabled": False, "consecutive_failures": channel.consecutive_failures,
           "disabled_reason": channel.disabled_reason}
    channel.is_enabled = True
    channel.consecutive_failures = 0
    channel.disabled_reason = None
    audit.record("notification_channel.enabled", resource_type="notification_channel", resource_id=channel.id,
                 org_id=channel.org_id, old=old,
                 new={"is_enabled": True, "consecutive_failures": 0, "disabled_reason": None})
    return True


def send_test(channel: NotificationChannel) -> str | None:
    """Send a test message to a channel now; returns None on success, else the error.

    The read transaction is closed before the network call; the audit row is written
    after it (the caller commits). The channel's failure count is left alone: a test is
    how an admin checks a fix before re-enabling a disabled channel.
    """
    channel_id, org_id = channel.id, channel.org_id
    try:
        message = outgoing(channel, delivery_id=f"test-{secrets.token_hex(6)}", event=TEST_EVENT,
                           created_at=utcnow(), payload={
                               "title": f"Test notification for channel '{channel.name}'",
                               "body": "If you can read this, Vigil can reach this channel.",
                               "severity": "info", "link": app_path("notifications.channels"),
                           })
    except DeliveryFailed as exc:
        message, error = None, str(exc)
    db.session.commit()
    if message is not None:
        try:
            send(message)
            error = None
        except DeliveryFailed as exc:
            error = str(exc)
    audit.record("notification_channel.tested", resource_type="notification_channel", resource_id=channel_id,
                 org_id=org_id, result="success" if error is None else "failure", error=error)
    return error


def filter_deliveries(stmt: sa.Select, *, status: str | None = None, channel_id: int | None = None) -> sa.Select:
    """Narrow an (already organization-scoped) deliveries query; newest first, channels loaded."""
    from sqlalchemy.orm import joinedload

    stmt = stmt.options(joinedload(NotificationDelivery.channel)).order_by(NotificationDelivery.id.desc())
    if status:
        stmt = stmt.where(NotificationDelivery.status == status)
    if channel_id is not None:
        stmt = stmt.where(NotificationDelivery.channel_id == channel_id)
    return stmt


def tell_admins_channel_disabled(channel: NotificationChannel, reason: str) -> None:
    """Tell the admins in the app only: the broken channel cannot carry its own alarm."""
    notify(channel.org_id, "notification_channel.disabled", f"Channel '{channel.name}' was disabled",
           body=reason, severity="warning", link=app_path("notifications.channels"), deliver=False)


events.subscribe("notifications.channel_disabled", tell_admins_channel_disabled)
# Alerts firing, repeating and resolving (app/alerting/service.py) reach the organization here.
events.subscribe(ALERT_NOTIFICATION, notify)
