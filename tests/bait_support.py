"""Helpers shared by the canary token tests (tests/test_bait*.py)."""

from __future__ import annotations

import sqlalchemy as sa

from app.bait import services
from app.models import BaitAccess, BaitToken, Notification, db

ATTACKER = "81.2.69.160"  # a public address (GB in the offline database)
OTHER = "89.160.20.112"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def configure(app, monkeypatch):
    """Token URLs under http://localhost (the test client's host), a DNS zone, no bait host."""
    monkeypatch.setitem(app.config, "BAIT_BASE_URL", None)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "http://localhost")
    monkeypatch.setitem(app.config, "BAIT_DNS_ZONE", "cdn-assets.example.net")
    return app


def make(org_id: int, kind: str = "url", name: str = "wiki admin link", **kw) -> BaitToken:
    token = services.create_token(org_id, kind, name, actor_label="test", **kw)
    db.session.commit()
    return token


def touch(client, token: BaitToken, suffix: str = "", ip: str = ATTACKER, method: str = "GET", **kw):
    return client.open(f"/c/{token.identifier}{'/' + suffix if suffix else ''}", method=method, csrf=False,
                       environ_base={"REMOTE_ADDR": ip}, **kw)


def accesses(token: BaitToken) -> list[BaitAccess]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(BaitAccess).where(BaitAccess.bait_id == token.id).order_by(BaitAccess.id)))


def bait_notifications(org_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.org_id == org_id, Notification.event == "bait_triggered"))
