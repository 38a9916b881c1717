"""Adaptive rate limits: the formula, blocks with Retry-After, the record, and unblocking."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.models import RateLimitEntry, SecurityEvent, db, utcnow
from app.threats import ratelimit
from app.threats.ratelimit import adaptive_limit


@pytest.fixture()
def one_window(monkeypatch):
    """The limiter counts per wall-clock minute, so a burst that straddles a minute boundary
    would be split over two windows and never go over. Its clock stands still at the middle
    of the current minute instead (within a minute of the real clock the blocks are checked
    against, far less than any penalty)."""
    now = utcnow().replace(second=30, microsecond=0)
    monkeypatch.setattr(ratelimit, "utcnow", lambda: now)
    return now


@pytest.mark.parametrize("base, trust, confidence, expected", [
    (10, 50, None, 10),      # neutral user, no intel: the base
    (10, 100, None, 15),     # fully trusted: x1.5
    (10, 0, None, 5),        # distrusted: x0.5
    (10, 50, 100, 3),        # a certain intel hit: x0.25 -> 2.5, rounded half up
    (120, 100, None, 180),
    (600, 100, 0, 900),
    (10, 0, 100, 2),         # 10 x 0.5 x 0.25 = 1.25 -> the floor, 2
])
def test_the_formula(base, trust, confidence, expected):
    limit, f, g = adaptive_limit(base, trust, confidence)
    assert limit == expected
    assert 0.5 <= f <= 1.5 and 0.25 <= g <= 1


def test_too_many_sign_in_attempts_are_blocked_with_retry_after(client, orgs, one_window):
    email = orgs.a.users["analyst"].email
    statuses = [client.post("/auth/login", data={"email": email, "password": "x" * 12}).status_code
                for _ in range(11)]
    assert statuses[:10] == [422] * 10 and statuses[10] == 429
    blocked = client.post("/auth/login", data={"email": email, "password": "x" * 12})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 60
    entry = db.session.scalar(sa.select(RateLimitEntry).where(RateLimitEntry.endpoint == "auth"))
    assert entry.request_count == 11 and entry.adaptive_limit == 10 and entry.ip_address == "127.0.0.1"
    assert db.session.scalar(sa.select(SecurityEvent).where(SecurityEvent.event_type == "rate_limit_block"))
    json_blocked = client.post("/auth/login", data={}, headers={"Accept": "application/json"})
    assert json_blocked.status_code == 429 and json_blocked.json["error"]["code"] == "rate_limited"


def test_an_admin_lifts_a_user_block(app, client, orgs, one_window, monkeypatch):
    user = orgs.a.users["read_only"]
    client.login(user.email)
    with monkeypatch.context() as patch:
        patch.setitem(ratelimit.GROUPS, "read", (5, 2))
        codes = [client.get("/").status_code for _ in range(6)]
    assert codes[-1] == 429
    entry = db.session.scalar(sa.select(RateLimitEntry).where(RateLimitEntry.user_id == user.id))
    assert entry.org_id == orgs.a.org.id and entry.endpoint == "read"
    admin = app.test_client()
    admin.login(orgs.a.users["admin"].email)
    assert str(entry.id) in admin.get("/threats/blocks").get_data(as_text=True)
    assert admin.post(f"/threats/blocks/{entry.id}/unblock").status_code == 303
    assert client.get("/").status_code == 200


def test_fleet_agents_are_limited_per_key_not_per_shared_address(app, client, orgs, one_window, monkeypatch):
    """Many scanners behind one customer NAT: one noisy agent is blocked, its neighbours are not."""
    from app.fleet import services
    from app.models import Device

    keys = []
    for n in range(2):
        device = Device(org_id=orgs.a.org.id, hostname=f"nat-{n}", device_name=f"nat-{n}", device_type="scanner",
                        billing_type="customer", status="active", heartbeat_interval=60, enrolled_at=utcnow(), tags=[])
        db.session.add(device)
        db.session.flush()
        keys.append(services.create_device_key(device))
    db.session.commit()
    body = {"cpu_percent": 1.0, "ram_percent": 1.0}
    with monkeypatch.context() as patch:
        patch.setitem(ratelimit.GROUPS, "agent", (5, 2))
        noisy = [client.post("/api/agent/heartbeat", json=body, headers={"Authorization": f"Bearer {keys[0]}"}).status_code
                 for _ in range(7)]
        quiet = client.post("/api/agent/heartbeat", json=body, headers={"Authorization": f"Bearer {keys[1]}"})
    assert noisy[:5] == [202] * 5 and noisy[5:] == [429, 429]
    assert quiet.status_code == 202  # same address, its own budget
    entry = db.session.scalar(sa.select(RateLimitEntry).where(RateLimitEntry.endpoint == "agent"))
    assert entry.request_count == 6
    assert entry.org_id == orgs.a.org.id and "agent key" in entry.reason
    root = app.test_client()
    root.login(orgs.a.users["admin"].email)
    assert root.post(f"/threats/blocks/{entry.id}/unblock").status_code == 303
    again = client.post("/api/agent/heartbeat", json=body, headers={"Authorization": f"Bearer {keys[0]}"})
    assert again.status_code == 202  # the per-key mirror in Redis was found and removed
