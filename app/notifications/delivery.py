"""Delivering notifications to channels: signed webhooks and SMTP e-mail.

Each delivery is a row plus a job. One attempt is three steps: claim the row (count the
attempt, commit), send with no database transaction open, then record the outcome under
a lock on the channel row (commit). A failed attempt is retried with exponential backoff:
the periodic `notifications.retry_due` job finds rows whose time has come and queues a
`notifications.deliver` job for each. After MAX_ATTEMPTS a delivery is abandoned. A
channel that fails NOTIFY_MAX_FAILURES times in a row is disabled, its open deliveries
are abandoned, and the organization's admins are told in the app.

Statuses: pending (waiting for, or inside, an attempt), failed (the last attempt failed;
the next one is due at next_attempt_at), sent, abandoned. A pending row also carries
next_attempt_at: the moment its job counts as lost, so retry_due queues it again.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from app import audit, mailer
from app.alerting import events
from app.crypto import DecryptionError, decrypt_text
from app.jobs import enqueue, job
from app.mailer import MailError, SmtpSettings, one_line
from app.models import NotificationChannel, NotificationDelivery, db, utcnow
from app.notifications import routing
from app.notifications.formats import FORMATTERS
from app.outbound import OutboundRefused, check_host

MAX_ATTEMPTS = 6
# Wait after the 1st, 2nd, ... failed attempt (the last value repeats).
BACKOFF_SECONDS = (30, 120, 600, 1800, 7200)
# A pending delivery whose job has not finished after this long is queued again.
CLAIM_SECONDS = 900
RETRY_BATCH = 500
SIGNATURE_HEADER = "X-Vigil-Signature"
TEST_EVENT = "notification.test"
OPEN_STATUSES = ("pending", "failed")
# Secrets are stored sealed under "<name>_enc" in channel.config (see app.crypto).
SECRET_FIELDS = {"webhook": ("secret",), "email": ("smtp_password",)}


class DeliveryFailed(Exception):
    """One attempt did not get through; the message is shown to admins as is."""


@dataclass(frozen=True)
class Outgoing:
    """Everything one send needs, read from the database before the network call."""

    kind: str
    settings: dict[str, Any]  # the channel's config with its secrets decrypted
    delivery_id: str
    event: str
    created_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


def sign(secret: str, body: bytes) -> str:
    """`sha256=<hex>` HMAC of the exact body bytes, as receivers verify it."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(attempts: int) -> timedelta:
    """How long to wait after `attempts` failed attempts."""
    return timedelta(seconds=BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1])


def channel_secret(channel: NotificationChannel, name: str) -> str | None:
    """A channel secret in clear (None when unset); DecryptionError on a wrong key."""
    sealed = (channel.config or {}).get(f"{name}_enc")
    return decrypt_text(sealed) if sealed else None


def outgoing(channel: NotificationChannel, *, delivery_id: str, event: str, created_at: datetime,
             payload: dict[str, Any]) -> Outgoing:
    """The message for one send, secrets opened; DeliveryFailed if they cannot be."""
    settings = {k: v for k, v in (channel.config or {}).items() if not k.endswith("_enc")}
    for name in SECRET_FIELDS.get(channel.kind, ()):
        try:
            settings[name] = channel_secret(channel, name)
        except DecryptionError as exc:
            raise DeliveryFailed(f"the channel's {name.replace('_', ' ')} cannot be decrypted; enter it again") from exc
    return Outgoing(channel.kind, settings, delivery_id, event, created_at, dict(payload or {}))


def absolute_link(link: str | None) -> str | None:
    """Links in notifications are site paths; receivers outside need the full URL."""
    if link and link.startswith("/"):
        return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + link
    return link


# ---------------------------------------------------------------- senders

def webhook_body(message: Outgoing) -> bytes:
    """The request body in the channel's format (Vigil's document unless Slack or Teams is chosen)."""
    shape = FORMATTERS.get(message.settings.get("format") or "vigil")
    if shape is not None:
        return json.dumps(shape(message.payload, absolute_link(message.payload.get("link"))), sort_keys=True,
                          default=str).encode()
    p = message.payload
    # Shaped like the incident webhooks monitoring services send (seed 002's BetterStack example).
    document = {
        "data": {
            "id": message.delivery_id,
            "type": "incident" if p.get("severity") in ("warning", "critical") else "event",
            "attributes": {
                "name": p.get("title"),
                "cause": p.get("body"),
                "event": message.event,
                "severity": p.get("severity"),
                "url": absolute_link(p.get("link")),
                "started_at": message.created_at.isoformat(),
                "details": {k: v for k, v in p.items() if k not in ("title", "body", "severity", "link", "event")},
            },
        }
    }
    return json.dumps(document, sort_keys=True, default=str).encode()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a GET to somewhere else: report it instead."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


def send_webhook(message: Outgoing) -> None:
    url = message.settings.get("url") or ""
    body = webhook_body(message)
    headers = {"Content-Type": "application/json", "User-Agent": "Vigil-Webhook/1",
               "X-Vigil-Event": message.event, "X-Vigil-Delivery": message.delivery_id}
    secret = message.settings.get("secret")
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, body)
    parts = urlsplit(url)
    try:
        check_host(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
    except OutboundRefused as exc:
        raise DeliveryFailed(f"refused: {exc}") from exc
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(req, timeout=current_app.config["WEBHOOK_TIMEOUT_SECONDS"]) as resp:
            if not 200 <= resp.status < 300:
                raise DeliveryFailed(f"HTTP {resp.status}")
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"HTTP {exc.code}") from exc
    except urllib.error.URLError as exc:
        raise DeliveryFailed(f"connection failed: {exc.reason}") from exc
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise DeliveryFailed(f"connection failed: {type(exc).__name__}: {exc}") from exc


def send_email(message: Outgoing) -> None:
    cfg = message.settings
    p = message.payload
    msg = EmailMessage()
    msg["Subject"] = one_line(f"[Vigil {p.get('severity', 'info')}] {p.get('title') or message.event}")[:250]
    msg["From"] = cfg.get("sender") or "vigil@localhost"
    msg["To"] = ", ".join(cfg.get("recipients") or [])
    msg["X-Vigil-Event"] = one_line(message.event)
    link = absolute_link(p.get("link"))
    text = "\n\n".join(x for x in (p.get("body") or "", f"Open in Vigil: {link}" if link else "") if x)
    msg.set_content(text or message.event)
    settings = SmtpSettings(cfg.get("smtp_host") or "127.0.0.1", int(cfg.get("smtp_port") or 25),
                            bool(cfg.get("starttls")), cfg.get("smtp_username"), cfg.get("smtp_password"))
    try:
        mailer.send(settings, msg)
    except MailError as exc:
        raise DeliveryFailed(str(exc)) from exc


SENDERS = {"webhook": send_webhook, "email": send_email}


def send(message: Outgoing) -> None:
    """Send once; every failure, expected or not, comes out as DeliveryFailed."""
    sender = SENDERS.get(message.kind)
    if sender is None:
        raise DeliveryFailed(f"unknown channel kind {message.kind!r}")
    try:
        sender(message)
    except DeliveryFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - a bug in one send must not strand the delivery
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc


# ---------------------------------------------------------------- queueing and attempts

def queue_deliveries(org_id: int, event: str, severity: str, payload: dict[str, Any]) -> list[NotificationDelivery]:
    """One delivery per channel the organization's routing sends this event to (app/notifications/routing.py).

    Each gets a job now, or, inside quiet hours, waits as a pending row due when they end
    (retry_due queues it then).
    """
    channels = db.session.scalars(
        sa.select(NotificationChannel).where(
            NotificationChannel.org_id == org_id, NotificationChannel.is_enabled.is_(True)
        ).order_by(NotificationChannel.id)
    ).all()
    channels = routing.routed(org_id, list(channels), routing.domain_of(event, payload), severity)
    held = routing.quiet_until(routing.policy_of(org_id), severity, utcnow()) if channels else None
    return [queue_to(channel, event, {**payload, "held_until": held.isoformat()} if held else payload, held)
            for channel in channels]


def queue_to(channel: NotificationChannel, event: str, payload: dict[str, Any],
             held: datetime | None = None) -> NotificationDelivery:
    """A delivery to one channel: its job now, or (held) due at `held` for retry_due to queue."""
    delivery = NotificationDelivery(org_id=channel.org_id, channel_id=channel.id, event=event, payload=payload,
                                    status="pending",
                                    next_attempt_at=held or utcnow() + timedelta(seconds=CLAIM_SECONDS))
    db.session.add(delivery)
    db.session.flush()
    if held is None:
        enqueue("notifications.deliver", org_id=channel.org_id, delivery_id=delivery.id, attempts=0)
    return delivery


def deliver_now(delivery_id: int, expected_attempts: int | None = None) -> str:
    """Make one attempt at a delivery and return its status afterwards.

    Commits twice (the claim, then the outcome) so that no transaction stays open during
    the network call. `expected_attempts` makes the claim exclusive: of two jobs queued
    for the same attempt, only the first does anything.
    """
    delivery = db.session.get(NotificationDelivery, delivery_id)
    if delivery is None:
        return "missing"
    if delivery.status not in OPEN_STATUSES:
        return delivery.status
    current = delivery.attempts
    if expected_attempts is not None and current != expected_attempts:
        return "skipped"
    channel = delivery.channel
    if not channel.is_enabled or current >= MAX_ATTEMPTS:
        delivery.status = "abandoned"
        delivery.next_attempt_at = None
        delivery.last_error = "channel disabled" if not channel.is_enabled else f"gave up after {current} attempts"
        db.session.commit()
        return delivery.status
    try:
        message = outgoing(channel, delivery_id=str(delivery.id), event=delivery.event,
                           created_at=delivery.created_at, payload=delivery.payload)
        problem = None
    except DeliveryFailed as exc:
        message, problem = None, str(exc)
    claimed = db.session.execute(
        sa.update(NotificationDelivery)
        .where(NotificationDelivery.id == delivery_id, NotificationDelivery.attempts == current,
               NotificationDelivery.status.in_(OPEN_STATUSES))
        .values(attempts=current + 1, status="pending", next_attempt_at=utcnow() + timedelta(seconds=CLAIM_SECONDS))
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if not claimed:
        return "skipped"  # another worker took this attempt between our read and our claim

    if message is not None:
        try:
            send(message)
        except DeliveryFailed as exc:
            problem = str(exc)
    return record_outcome(delivery_id, problem)


def record_outcome(delivery_id: int, error: str | None) -> str:
    """Write an attempt's result on the delivery and its channel (channel row locked), commit."""
    delivery = db.session.get(NotificationDelivery, delivery_id, populate_existing=True)
    if delivery is None:  # its channel was deleted during the send
        db.session.commit()
        return "missing"
    channel = db.session.scalar(
        sa.select(NotificationChannel).where(NotificationChannel.id == delivery.channel_id)
        .with_for_update().execution_options(populate_existing=True)
    )
    if error is None:
        delivery.status = "sent"
        delivery.sent_at = utcnow()
        delivery.next_attempt_at = None
        delivery.last_error = None
        channel.consecutive_failures = 0
        channel.last_success_at = utcnow()
        channel.last_error = None
    else:
        error = error[:1000]
        delivery.last_error = error
        channel.last_error = error
        channel.consecutive_failures += 1
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = "abandoned"
            delivery.next_attempt_at = None
        else:
            delivery.status = "failed"
            delivery.next_attempt_at = utcnow() + backoff(delivery.attempts)
        limit = current_app.config["NOTIFY_MAX_FAILURES"]
        if channel.is_enabled and channel.consecutive_failures >= limit:
            disable_channel(channel, f"disabled after {channel.consecutive_failures} failures in a row: {error}"[:255])
    status = delivery.status
    db.session.commit()
    return status


def disable_channel(channel: NotificationChannel, reason: str) -> None:
    """Stop using a channel, abandon what it still had to send, audit it and tell the admins."""
    channel.is_enabled = False
    channel.disabled_reason = reason
    db.session.execute(
        sa.update(NotificationDelivery)
        .where(NotificationDelivery.channel_id == channel.id, NotificationDelivery.status.in_(OPEN_STATUSES))
        .values(status="abandoned", next_attempt_at=None, last_error="channel disabled")
        .execution_options(synchronize_session="fetch")
    )
    audit.record("notification_channel.disabled", resource_type="notification_channel", resource_id=channel.id,
                 org_id=channel.org_id, actor_type="system", actor_label="delivery policy",
                 old={"is_enabled": True}, new={"is_enabled": False}, details={"reason": reason})
    # The admins are told in the app by app/notifications/services.py, which subscribes.
    events.publish("notifications.channel_disabled", channel=channel, reason=reason)


def due_query(now: datetime) -> sa.Select:
    return sa.select(NotificationDelivery.id).where(
        NotificationDelivery.status.in_(OPEN_STATUSES), NotificationDelivery.next_attempt_at <= now
    )


def has_due() -> bool:
    """One indexed lookup: is any delivery waiting for a retry? (The scheduler asks first.)"""
    return db.session.scalar(due_query(utcnow()).limit(1)) is not None


def queue_due(limit: int = RETRY_BATCH) -> int:
    """Queue a deliver job for each due delivery (the caller commits); returns how many."""
    now = utcnow()
    rows = db.session.execute(
        sa.select(NotificationDelivery.id, NotificationDelivery.org_id, NotificationDelivery.attempts)
        .where(NotificationDelivery.status.in_(OPEN_STATUSES), NotificationDelivery.next_attempt_at <= now)
        .order_by(NotificationDelivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return 0
    # Pushed out by the claim window, so the next retry_due does not queue them twice.
    db.session.execute(
        sa.update(NotificationDelivery).where(NotificationDelivery.id.in_([r.id for r in rows]))
        .values(status="pending", next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
        .execution_options(synchronize_session=False)
    )
    for delivery_id, org_id, attempts in rows:
        enqueue("notifications.deliver", org_id=org_id, delivery_id=delivery_id, attempts=attempts)
    return len(rows)


@job("notifications.deliver", title="Deliver a notification", queue="default", timeout=120)
def deliver(ctx, delivery_id: int, attempts: int | None = None, **_params) -> dict:
    """Send one delivery now (first attempt, or a due retry)."""
    status = deliver_now(delivery_id, attempts)
    delivery = db.session.get(NotificationDelivery, delivery_id)
    error = delivery.last_error if delivery is not None else None
    message = {"sent": "Sent", "skipped": "Already taken by another run", "missing": "Nothing to send"}.get(
        status, f"Not sent ({status}): {error}")
    return {"message": message, "status": status,
            "attempts": delivery.attempts if delivery is not None else None}


@job("notifications.retry_due", title="Retry due notification deliveries", queue="default", timeout=300)
def retry_due(ctx, **_params) -> dict:
    """Queue a delivery job for every delivery whose backoff has passed."""
    queued = queue_due()
    return {"message": f"Queued {queued} due deliveries", "queued": queued}
