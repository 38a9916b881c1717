"""Delivering notifications to channels: signed webhooks and SMTP e-mail.

Each delivery is a row plus a job. A failed attempt is retried with exponential
backoff (the periodic `notifications.retry_due` job picks up rows whose time has come);
a channel that fails NOTIFY_MAX_FAILURES times in a row is disabled and the
organization's admins are told in the app.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import urllib.error
import urllib.request
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app import audit
from app.jobs import enqueue, job
from app.models import NotificationChannel, NotificationDelivery, db, utcnow

MAX_ATTEMPTS = 6
BACKOFF_SECONDS = (30, 120, 600, 1800, 7200)
SIGNATURE_HEADER = "X-Vigil-Signature"


class DeliveryFailed(Exception):
    pass


def sign(secret: str, body: bytes) -> str:
    """`sha256=<hex>` HMAC of the exact body bytes, as receivers verify it."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def queue_deliveries(org_id: int, event: str, severity: str, payload: dict[str, Any]) -> list[NotificationDelivery]:
    """One delivery (and one job) per enabled channel whose minimum severity is reached."""
    from app.notifications.services import severity_rank

    channels = db.session.scalars(
        sa.select(NotificationChannel).where(
            NotificationChannel.org_id == org_id, NotificationChannel.is_enabled.is_(True)
        )
    ).all()
    deliveries = []
    for channel in channels:
        if severity_rank(severity) < severity_rank(channel.min_severity):
            continue
        delivery = NotificationDelivery(org_id=org_id, channel_id=channel.id, event=event, payload=payload)
        db.session.add(delivery)
        db.session.flush()
        enqueue("notifications.deliver", org_id=org_id, delivery_id=delivery.id)
        deliveries.append(delivery)
    return deliveries


def webhook_body(delivery: NotificationDelivery) -> bytes:
    p = delivery.payload
    # Shaped like the incident webhooks monitoring services send (seed 002's BetterStack example).
    document = {
        "data": {
            "id": str(delivery.id),
            "type": "incident" if p.get("severity") in ("warning", "critical") else "event",
            "attributes": {
                "name": p.get("title"),
                "cause": p.get("body"),
                "event": delivery.event,
                "severity": p.get("severity"),
                "url": p.get("link"),
                "started_at": delivery.created_at.isoformat(),
                "details": {k: v for k, v in p.items() if k not in ("title", "body", "severity", "link", "event")},
            },
        }
    }
    return json.dumps(document, sort_keys=True, default=str).encode()


def send_webhook(channel: NotificationChannel, delivery: NotificationDelivery) -> None:
    url = channel.config.get("url", "")
    body = webhook_body(delivery)
    headers = {"Content-Type": "application/json", "User-Agent": "Vigil-Webhook/1", "X-Vigil-Event": delivery.event,
               "X-Vigil-Delivery": str(delivery.id)}
    secret = channel.config.get("secret")
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, body)
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=current_app.config["WEBHOOK_TIMEOUT_SECONDS"]) as resp:
            if not 200 <= resp.status < 300:
                raise DeliveryFailed(f"HTTP {resp.status}")
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise DeliveryFailed(f"connection failed: {getattr(exc, 'reason', exc)}") from exc


def send_email(channel: NotificationChannel, delivery: NotificationDelivery) -> None:
    cfg = channel.config
    p = delivery.payload
    msg = EmailMessage()
    msg["Subject"] = f"[Vigil {p.get('severity', 'info')}] {p.get('title', delivery.event)}"
    msg["From"] = cfg.get("sender") or "vigil@localhost"
    msg["To"] = ", ".join(cfg.get("recipients", []))
    link = p.get("link")
    msg.set_content("\n\n".join(x for x in (p.get("body") or "", f"Open in Vigil: {link}" if link else "") if x) or delivery.event)
    try:
        with smtplib.SMTP(cfg.get("smtp_host", "127.0.0.1"), int(cfg.get("smtp_port", 25)),
                          timeout=current_app.config["SMTP_TIMEOUT_SECONDS"]) as smtp:
            if cfg.get("starttls"):
                smtp.starttls()
            if cfg.get("smtp_username"):
                smtp.login(cfg["smtp_username"], cfg.get("smtp_password", ""))
            smtp.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"SMTP: {exc}") from exc


SENDERS = {"webhook": send_webhook, "email": send_email}


def attempt(delivery: NotificationDelivery) -> bool:
    """Try one delivery once; record the outcome on the delivery and its channel."""
    channel = delivery.channel
    if not channel.is_enabled:
        delivery.status = "abandoned"
        delivery.last_error = "channel disabled"
        return False
    delivery.attempts += 1
    try:
        SENDERS[channel.kind](channel, delivery)
    except DeliveryFailed as exc:
        _failed(channel, delivery, str(exc))
        return False
    delivery.status = "sent"
    delivery.sent_at = utcnow()
    delivery.next_attempt_at = None
    delivery.last_error = None
    channel.consecutive_failures = 0
    channel.last_success_at = utcnow()
    return True


def _failed(channel: NotificationChannel, delivery: NotificationDelivery, error: str) -> None:
    delivery.last_error = error[:1000]
    channel.last_error = error[:1000]
    channel.consecutive_failures += 1
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = "abandoned"
        delivery.next_attempt_at = None
    else:
        delivery.status = "failed"
        wait = BACKOFF_SECONDS[min(delivery.attempts - 1, len(BACKOFF_SECONDS) - 1)]
        delivery.next_attempt_at = utcnow() + timedelta(seconds=wait)
    if channel.consecutive_failures >= current_app.config["NOTIFY_MAX_FAILURES"] and channel.is_enabled:
        disable_channel(channel, f"disabled after {channel.consecutive_failures} failures in a row: {error}"[:255])


def disable_channel(channel: NotificationChannel, reason: str) -> None:
    from app.notifications.services import notify

    channel.is_enabled = False
    channel.disabled_reason = reason
    audit.record("notification_channel.disabled", resource_type="notification_channel", resource_id=channel.id,
                 org_id=channel.org_id, actor_type="system", actor_label="delivery policy",
                 new={"is_enabled": False}, details={"reason": reason})
    # Tell the admins in the app only: the broken channel cannot carry its own alarm.
    notify(channel.org_id, "notification_channel.disabled", f"Channel '{channel.name}' was disabled",
           body=reason, severity="warning", deliver=False)


@job("notifications.deliver", title="Deliver a notification", queue="default", timeout=120)
def deliver(ctx, delivery_id: int, **_params) -> dict:
    """Send one delivery now (first attempt, or a due retry)."""
    delivery = db.session.get(NotificationDelivery, delivery_id)
    if delivery is None or delivery.status in ("sent", "abandoned"):
        return {"message": "Nothing to send", "status": getattr(delivery, "status", None)}
    ok = attempt(delivery)
    return {"message": "Sent" if ok else f"Not sent: {delivery.last_error}", "status": delivery.status,
            "attempts": delivery.attempts}


@job("notifications.retry_due", title="Retry due notification deliveries", queue="default", timeout=600)
def retry_due(ctx, **_params) -> dict:
    """Attempt every failed delivery whose backoff has passed."""
    due = db.session.scalars(
        sa.select(NotificationDelivery).where(
            NotificationDelivery.status == "failed", NotificationDelivery.next_attempt_at <= utcnow()
        ).order_by(NotificationDelivery.id).limit(500)
    ).all()
    sent = sum(1 for d in due if attempt(d))
    return {"message": f"Retried {len(due)}, sent {sent}", "retried": len(due), "sent": sent}
