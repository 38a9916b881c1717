"""Threat detection: rules over the last minutes of sign-in attempts and security events.

Run every minute by the `threats.detect` job. Each finding becomes a threat_event whose
response is executed and recorded; while a threat with the same dedupe key is open, a
repeated finding updates it (occurrences, indicators, confidence) instead of adding one.

| rule                 | finding                                                   | response          |
|----------------------|-----------------------------------------------------------|-------------------|
| brute_force          | >= 8 failed sign-ins on one account in 15 min             | lock account 60 m |
| password_spraying    | one IP fails on >= 5 accounts in 15 min, <= 3 tries each  | block IP 60 m     |
| credential_stuffing  | >= 10 accounts and >= 5 IPs fail in 15 min, and >= 80% of | require MFA of    |
|                      | the organization's attempts fail                          | the accounts hit  |
| token_reuse          | a refresh_token_reuse security event in 15 min            | sign the user out |
| access_denied_burst  | >= 20 access_denied events of one user in 5 min           | lock account 60 m |
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from app import audit
from app.alerting import events
from app.auth.services import revoke_all_sessions
from app.models import LoginAttempt, SecurityEvent, ThreatEvent, User, db, utcnow
from app.models.threats import THREAT_OPEN
from app.threats.blocks import block_ip

WINDOW = timedelta(minutes=15)
BURST_WINDOW = timedelta(minutes=5)
BRUTE_FORCE_MIN = 8
SPRAY_MIN_ACCOUNTS = 5
SPRAY_MAX_TRIES_PER_ACCOUNT = 3
STUFFING_MIN_ACCOUNTS = 10
STUFFING_MIN_IPS = 5
STUFFING_MIN_FAILURE_RATIO = 0.8
DENIED_BURST_MIN = 20
RESPONSE_MINUTES = 60


@dataclass
class Finding:
    threat_type: str
    severity: str
    dedupe_key: str
    description: str
    confidence: float
    response_action: str  # lock_account | block_ip | require_mfa | revoke_sessions
    indicators: list[str] = field(default_factory=list)
    affected_user_ids: list[int] = field(default_factory=list)


def _failures(org_id: int, since: datetime) -> list[Any]:
    return db.session.execute(
        sa.select(LoginAttempt.user_id, LoginAttempt.email, LoginAttempt.ip_address)
        .where(LoginAttempt.org_id == org_id, LoginAttempt.success.is_(False), LoginAttempt.attempted_at > since)
    ).all()


def brute_force(org_id: int, now: datetime) -> list[Finding]:
    per_user: dict[int, list[Any]] = defaultdict(list)
    for row in _failures(org_id, now - WINDOW):
        if row.user_id is not None:
            per_user[row.user_id].append(row)
    findings = []
    for user_id, rows in per_user.items():
        if len(rows) >= BRUTE_FORCE_MIN:
            ips = sorted({r.ip_address for r in rows})
            findings.append(Finding(
                "brute_force", "high", f"brute_force:user:{user_id}",
                f"{len(rows)} failed sign-ins on {rows[0].email} in 15 minutes from {len(ips)} address(es)",
                min(100.0, 60 + 4 * (len(rows) - BRUTE_FORCE_MIN)), "lock_account",
                indicators=[f"ip:{ip}" for ip in ips], affected_user_ids=[user_id],
            ))
    return findings


def password_spraying(org_id: int, now: datetime) -> list[Finding]:
    per_ip: dict[str, list[Any]] = defaultdict(list)
    for row in _failures(org_id, now - WINDOW):
        per_ip[row.ip_address].append(row)
    findings = []
    for ip, rows in per_ip.items():
        accounts = {r.email.lower() for r in rows}
        if len(accounts) >= SPRAY_MIN_ACCOUNTS and len(rows) / len(accounts) <= SPRAY_MAX_TRIES_PER_ACCOUNT:
            findings.append(Finding(
                "password_spraying", "high", f"password_spraying:ip:{ip}",
                f"{ip} tried {len(accounts)} accounts ({len(rows)} failures) in 15 minutes",
                min(100.0, 55 + 5 * (len(accounts) - SPRAY_MIN_ACCOUNTS)), "block_ip",
                indicators=[f"ip:{ip}"], affected_user_ids=sorted({r.user_id for r in rows if r.user_id}),
            ))
    return findings


def credential_stuffing(org_id: int, now: datetime) -> list[Finding]:
    since = now - WINDOW
    rows = _failures(org_id, since)
    accounts = {r.email.lower() for r in rows}
    ips = {r.ip_address for r in rows}
    if len(accounts) < STUFFING_MIN_ACCOUNTS or len(ips) < STUFFING_MIN_IPS:
        return []
    total = db.session.scalar(sa.select(sa.func.count(LoginAttempt.id)).where(
        LoginAttempt.org_id == org_id, LoginAttempt.attempted_at > since)) or 0
    ratio = len(rows) / total if total else 0
    if ratio < STUFFING_MIN_FAILURE_RATIO:
        return []
    return [Finding(
        "credential_stuffing", "critical", "credential_stuffing:org",
        f"{len(accounts)} accounts from {len(ips)} addresses failed in 15 minutes ({ratio:.0%} of attempts)",
        min(100.0, 60 + 40 * (ratio - STUFFING_MIN_FAILURE_RATIO) / (1 - STUFFING_MIN_FAILURE_RATIO)),
        "require_mfa", indicators=[f"ip:{ip}" for ip in sorted(ips)][:50],
        affected_user_ids=sorted({r.user_id for r in rows if r.user_id}),
    )]


def token_reuse(org_id: int, now: datetime) -> list[Finding]:
    events = db.session.execute(sa.select(SecurityEvent.user_id, SecurityEvent.ip_address).where(
        SecurityEvent.org_id == org_id, SecurityEvent.event_type == "refresh_token_reuse",
        SecurityEvent.created_at > now - WINDOW)).all()
    per_user: dict[int, set[str]] = defaultdict(set)
    for e in events:
        if e.user_id is not None:
            per_user[e.user_id].add(e.ip_address or "unknown")
    return [Finding("token_reuse", "high", f"token_reuse:user:{uid}",
                    f"A used refresh token was presented again ({len(ips)} address(es))", 90.0, "revoke_sessions",
                    indicators=[f"ip:{ip}" for ip in sorted(ips)], affected_user_ids=[uid])
            for uid, ips in per_user.items()]


def access_denied_burst(org_id: int, now: datetime) -> list[Finding]:
    rows = db.session.execute(
        sa.select(SecurityEvent.user_id, sa.func.count(SecurityEvent.id))
        .where(SecurityEvent.org_id == org_id, SecurityEvent.event_type == "access_denied",
               SecurityEvent.created_at > now - BURST_WINDOW, SecurityEvent.user_id.is_not(None))
        .group_by(SecurityEvent.user_id)
    ).all()
    return [Finding("access_denied_burst", "medium", f"access_denied_burst:user:{uid}",
                    f"{count} access-denied responses in 5 minutes", min(100.0, 50 + count), "lock_account",
                    affected_user_ids=[uid])
            for uid, count in rows if count >= DENIED_BURST_MIN]


RULES = (brute_force, password_spraying, credential_stuffing, token_reuse, access_denied_burst)


def respond(threat: ThreatEvent, finding: Finding) -> dict[str, Any]:
    """Execute the response; returns what was done (stored on the threat)."""
    now = utcnow()
    done: dict[str, Any] = {"action": finding.response_action}
    users = [db.session.get(User, uid) for uid in finding.affected_user_ids]
    users = [u for u in users if u is not None]
    if finding.response_action == "lock_account":
        until = now + timedelta(minutes=RESPONSE_MINUTES)
        for user in users:
            user.locked_until = max(user.locked_until or now, until)
        done["locked_user_ids"] = [u.id for u in users]
        done["until"] = until.isoformat()
    elif finding.response_action == "block_ip":
        ips = [i.split(":", 1)[1] for i in finding.indicators if i.startswith("ip:")]
        for ip in ips:
            block_ip(ip, RESPONSE_MINUTES, f"{finding.threat_type} (threat #{threat.id})", org_id=threat.org_id,
                     threat_event_id=threat.id)
        done["blocked_ips"] = ips
    elif finding.response_action == "require_mfa":
        for user in users:
            user.mfa_forced = True
        done["mfa_forced_user_ids"] = [u.id for u in users]
    elif finding.response_action == "revoke_sessions":
        done["sessions_ended"] = sum(revoke_all_sessions(u, f"threat_{threat.id}") for u in users)
    return done


MITIGATED_STILL_SAME_ATTACK = WINDOW  # the rules' look-back: the evidence may still be in it


def record_finding(org_id: int, finding: Finding) -> tuple[ThreatEvent, bool]:
    """Create the threat (and respond), or update the open one with the same key.

    Either way the threat is published (`threats.threat_detected`): the organization hears of
    it through its "threat detected" alert rule (app/threats/alert_rules.py), with the shared
    engine's routing, cooldown, mute and maintenance windows, once per attack.
    """
    now = utcnow()
    # A mitigated threat is still the same attack while its evidence stays in the detection
    # window: every pass sees the same failures again, and must not record a new threat each time.
    open_threat = db.session.scalar(sa.select(ThreatEvent).where(
        ThreatEvent.org_id == org_id, ThreatEvent.dedupe_key == finding.dedupe_key,
        sa.or_(ThreatEvent.status.in_(THREAT_OPEN),
               sa.and_(ThreatEvent.status == "mitigated",
                       ThreatEvent.last_detected_at >= now - MITIGATED_STILL_SAME_ATTACK)))
        .order_by(ThreatEvent.id.desc()).limit(1))
    if open_threat is not None:
        open_threat.occurrences += 1
        open_threat.last_detected_at = now
        open_threat.description = finding.description
        open_threat.confidence = max(open_threat.confidence, Decimal(str(round(finding.confidence, 2))))
        open_threat.indicators = sorted(set(open_threat.indicators) | set(finding.indicators))
        open_threat.affected_user_ids = sorted(set(open_threat.affected_user_ids) | set(finding.affected_user_ids))
        # The response is executed again: a new address may need blocking, a lock may have run out.
        open_threat.response_details = respond(open_threat, finding)
        events.publish("threats.threat_detected", threat=open_threat, new=False)
        return open_threat, False
    threat = ThreatEvent(
        org_id=org_id, threat_type=finding.threat_type, severity=finding.severity, description=finding.description,
        indicators=finding.indicators, affected_user_ids=finding.affected_user_ids,
        confidence=Decimal(str(round(finding.confidence, 2))), response_action=finding.response_action,
        dedupe_key=finding.dedupe_key, detected_at=now, last_detected_at=now,
    )
    db.session.add(threat)
    db.session.flush()
    try:
        threat.response_details = respond(threat, finding)
        threat.response_status = "executed"
        threat.status = "mitigated" if finding.response_action in ("block_ip", "lock_account") else "detected"
        threat.mitigated_at = now if threat.status == "mitigated" else None
    except Exception as exc:  # noqa: BLE001 - the threat must be recorded even if the response fails
        threat.response_status = "failed"
        threat.response_details = {"error": f"{type(exc).__name__}: {exc}"}
    audit.record("threat.detected", resource_type="threat_event", resource_id=threat.id, org_id=org_id,
                 actor_type="job", actor_label="threat detection",
                 new={"type": threat.threat_type, "severity": threat.severity,
                      "response": threat.response_action, "response_status": threat.response_status})
    events.publish("threats.threat_detected", threat=threat, new=True)
    return threat, True


def detect(org_id: int, now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    created = updated = 0
    for rule in RULES:
        for finding in rule(org_id, now):
            _, is_new = record_finding(org_id, finding)
            created += is_new
            updated += not is_new
    return {"created": created, "updated": updated}


def orgs_with_recent_activity(now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    attempts = sa.select(LoginAttempt.org_id).where(LoginAttempt.attempted_at > now - WINDOW,
                                                    LoginAttempt.success.is_(False), LoginAttempt.org_id.is_not(None))
    events = sa.select(SecurityEvent.org_id).where(
        SecurityEvent.created_at > now - WINDOW, SecurityEvent.org_id.is_not(None),
        SecurityEvent.event_type.in_(("refresh_token_reuse", "access_denied")))
    return sorted(set(db.session.scalars(attempts.union(events))))


def has_recent_activity() -> bool:
    """Cheap check for the scheduler: skip the run when nothing failed lately."""
    return bool(orgs_with_recent_activity())
