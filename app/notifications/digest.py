"""The daily digest: what stayed open, e-mailed once a day at each organization's hour."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from app.alerting.maintenance import zone
from app.jobs import job
from app.models import NotificationChannel, NotificationPolicy, db, utcnow
from app.notifications import routing
from app.notifications.delivery import queue_to
from app.notifications.services import app_path

DIGEST_EVENT = "alerts.digest"


def send_digest(policy: NotificationPolicy, now: datetime) -> int:
    """Queue the digest to the organization's enabled e-mail channels; returns how many deliveries."""
    title, body = routing.digest_text(routing.open_alerts(policy.org_id), now)
    channels = db.session.scalars(sa.select(NotificationChannel).where(
        NotificationChannel.org_id == policy.org_id, NotificationChannel.is_enabled.is_(True),
        NotificationChannel.kind == "email").order_by(NotificationChannel.id)).all()
    for channel in channels:
        queue_to(channel, DIGEST_EVENT, {"event": DIGEST_EVENT, "title": f"Daily digest: {title}", "body": body,
                                         "severity": "info", "link": app_path("alerts.index")})
    policy.last_digest_on = now.astimezone(zone(policy.timezone)).date()
    return len(channels)


def send_due_digests(now: datetime | None = None) -> int:
    """Every organization whose digest hour has come today and has not had it; returns deliveries queued."""
    now = now or utcnow()
    policies = db.session.scalars(sa.select(NotificationPolicy).where(
        NotificationPolicy.digest_enabled.is_(True)).order_by(NotificationPolicy.org_id)).all()
    queued = 0
    for policy in policies:
        if routing.digest_due(policy, now):
            queued += send_digest(policy, now)
            db.session.commit()  # each organization is its own unit of work
    return queued


@job("notifications.digest", title="Send the daily alert digests", queue="low", timeout=600)
def digest(ctx, **_params) -> dict:
    """E-mail each organization whose digest hour has come the alerts that stayed open."""
    queued = send_due_digests()
    return {"message": f"Queued {queued} digest e-mail(s)", "queued": queued}
