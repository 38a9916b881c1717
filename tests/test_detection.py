"""Threat detection rules, their responses, dedupe, blocks and access-denied events."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.models import (
    LoginAttempt,
    Notification,
    RateLimitEntry,
    SecurityEvent,
    ThreatEvent,
    User,
    db,
    utcnow,
)
from app.threats import detection
from tests import factories
from tests.conftest import run_jobs
from tests.tenancy import assert_other_org_cannot_reach


def fail(org_id, email, ip, user=None, n=1, minutes_ago=1):
    for _ in range(n):
        db.session.add(LoginAttempt(email=email, user_id=user.id if user else None, org_id=org_id, ip_address=ip,
                                    success=False, failure_reason="bad_credentials",
                                    attempted_at=utcnow() - timedelta(minutes=minutes_ago)))


def threats(org_id, kind=None):
    stmt = sa.select(ThreatEvent).where(ThreatEvent.org_id == org_id)
    if kind:
        stmt = stmt.where(ThreatEvent.threat_type == kind)
    return db.session.scalars(stmt).all()


def test_brute_force_locks_the_account_and_repeats_update_the_same_threat(db_session, orgs):
    victim = orgs.a.users["analyst"]
    fail(orgs.a.org.id, victim.email, "203.0.113.5", victim, n=8)
    db.session.commit()
    assert detection.detect(orgs.a.org.id) == {"created": 1, "updated": 0}
    [threat] = threats(orgs.a.org.id, "brute_force")
    assert threat.response_status == "executed" and threat.status == "mitigated"
    assert db.session.get(User, victim.id).locked_until > utcnow() + timedelta(minutes=50)
    assert threat.indicators == ["ip:203.0.113.5"] and threat.affected_user_ids == [victim.id]
    # Told through the "threat detected" alert rule: one alert, one notification per admin.
    admins = db.session.scalar(sa.select(sa.func.count(sa.distinct(Notification.user_id))).where(
        Notification.org_id == orgs.a.org.id, Notification.event == "threat_detected"))
    assert admins >= 1 and db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.org_id == orgs.a.org.id, Notification.event == "threat_detected")) == admins
    threat.status = "investigating"
    fail(orgs.a.org.id, victim.email, "203.0.113.6", victim, n=2)
    db.session.commit()
    assert detection.detect(orgs.a.org.id) == {"created": 0, "updated": 1}
    db.session.refresh(threat)
    assert threat.occurrences == 2 and "ip:203.0.113.6" in threat.indicators
    assert threats(orgs.b.org.id) == []


def test_a_mitigated_attack_seen_again_in_the_window_is_the_same_threat(db_session, orgs):
    victim = orgs.a.users["analyst"]
    fail(orgs.a.org.id, victim.email, "203.0.113.5", victim, n=8)
    db.session.commit()
    assert detection.detect(orgs.a.org.id) == {"created": 1, "updated": 0}
    [threat] = threats(orgs.a.org.id, "brute_force")
    assert threat.status == "mitigated"
    # The next passes see the same failures (still inside the 15-minute window): no new threat.
    assert detection.detect(orgs.a.org.id) == {"created": 0, "updated": 1}
    assert detection.detect(orgs.a.org.id) == {"created": 0, "updated": 1}
    assert [t.id for t in threats(orgs.a.org.id, "brute_force")] == [threat.id]
    # Once the mitigated threat is older than the window, a new attack is a new threat.
    threat.last_detected_at = utcnow() - detection.WINDOW - timedelta(minutes=1)
    db.session.commit()
    assert detection.detect(orgs.a.org.id) == {"created": 1, "updated": 0}


def test_seven_failures_are_not_brute_force(db_session, orgs):
    victim = orgs.a.users["analyst"]
    fail(orgs.a.org.id, victim.email, "203.0.113.5", victim, n=7)
    fail(orgs.a.org.id, victim.email, "203.0.113.5", victim, n=5, minutes_ago=30)  # outside the window
    db.session.commit()
    assert threats(orgs.a.org.id, "brute_force") == []
    detection.detect(orgs.a.org.id)
    assert threats(orgs.a.org.id, "brute_force") == []


def test_password_spraying_blocks_the_address_at_sign_in(client, orgs):
    spray_ip = "127.0.0.1"  # the test client's address, so the block is felt
    for user in orgs.a.users.values():
        fail(orgs.a.org.id, user.email, spray_ip, user, n=1)
    fail(orgs.a.org.id, "ghost@example.test", spray_ip, n=2)
    db.session.commit()
    detection.detect(orgs.a.org.id)
    [threat] = threats(orgs.a.org.id, "password_spraying")
    block = db.session.scalar(sa.select(RateLimitEntry).where(RateLimitEntry.ip_address == spray_ip))
    assert block.is_blocked and block.threat_event_id == threat.id
    response = client.login(orgs.a.users["admin"].email)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 3000
    # an analyst of org A lifts it from the blocks page (signing in from a trusted place first)
    block.blocked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    block.blocked_until = utcnow() + timedelta(minutes=30)
    db.session.commit()
    assert "<code>127.0.0.1</code>" in client.get("/threats/blocks").get_data(as_text=True)
    assert client.post(f"/threats/blocks/{block.id}/unblock").status_code == 303
    db.session.refresh(block)
    assert block.is_blocked is False


def test_credential_stuffing_requires_mfa_of_the_accounts_hit(client, orgs):
    org_id = orgs.a.org.id
    users = [factories.user(org_id, "read_only") for _ in range(10)]
    for i, user in enumerate(users):
        fail(org_id, user.email, f"198.51.100.{i % 6}", user)
    db.session.commit()
    detection.detect(org_id)
    [threat] = threats(org_id, "credential_stuffing")
    assert threat.severity == "critical" and threat.response_action == "require_mfa"
    db.session.refresh(users[0])
    assert users[0].mfa_forced
    client.login(users[0].email)
    assert client.get("/").headers["Location"].endswith("/auth/mfa/enrol")


def test_token_reuse_and_access_denied_bursts(client, orgs):
    user = orgs.a.users["read_only"]
    client.login(user.email)
    for _ in range(20):
        assert client.get("/admin/audit").status_code == 403  # each refusal is an access_denied event
    assert db.session.scalar(sa.select(sa.func.count(SecurityEvent.id)).where(
        SecurityEvent.user_id == user.id, SecurityEvent.event_type == "access_denied")) == 20
    db.session.add(SecurityEvent(org_id=orgs.a.org.id, user_id=orgs.a.users["operator"].id, event_type="refresh_token_reuse",
                                 severity="high", description="test", ip_address="192.0.2.7"))
    db.session.commit()
    detection.detect(orgs.a.org.id)
    assert len(threats(orgs.a.org.id, "access_denied_burst")) == 1
    assert db.session.get(User, user.id).locked_until is not None
    [reuse] = threats(orgs.a.org.id, "token_reuse")
    assert reuse.response_action == "revoke_sessions" and reuse.response_status == "executed"


def test_the_detection_job_runs_through_a_real_worker(app, db_session, redis_conn, orgs):
    from app.jobs import enqueue
    from app.jobs.schedule import _has_work
    from app.models import JobRun

    assert _has_work("threats.detect") is False  # nothing failed: the scheduler records no run
    victim = orgs.b.users["analyst"]
    fail(orgs.b.org.id, victim.email, "203.0.113.9", victim, n=9)
    db.session.commit()
    assert _has_work("threats.detect") is True
    run = enqueue("threats.detect", org_id=None)
    db.session.commit()
    run_jobs(app)
    db.session.refresh(run)
    assert run.status == "succeeded" and run.result["created"] == 1
    assert db.session.get(JobRun, run.id).result["orgs"] == 1


def test_threat_pages_are_scoped_and_status_changes_are_audited(client, orgs):
    from app.models import AuditLog

    victim = orgs.b.users["analyst"]
    fail(orgs.b.org.id, victim.email, "203.0.113.9", victim, n=9)
    db.session.commit()
    detection.detect(orgs.b.org.id)
    [theirs] = threats(orgs.b.org.id)
    client.login(orgs.a.users["analyst"].email)
    assert "No threats detected" in client.get("/threats/").get_data(as_text=True)
    assert_other_org_cannot_reach(client, [("GET", f"/threats/{theirs.id}"), ("POST", f"/threats/{theirs.id}")],
                                  data={"status": "resolved"})
    client.post("/auth/logout")
    client.login(orgs.b.users["admin"].email)  # (B's analyst is the locked victim)
    assert client.post(f"/threats/{theirs.id}", data={"status": "resolved"}).status_code == 303
    db.session.refresh(theirs)
    assert theirs.status == "resolved" and theirs.resolved_at is not None
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "threat.status_changed"))
    assert client.post(f"/threats/{theirs.id}", data={"status": "bogus"}).status_code == 400
