"""Adaptive rate limiting: per (user or IP, endpoint group) fixed one-minute windows.

    limit = clamp(round_half_up(base x f(trust) x g(threat)), floor = ceil(base / 5), ceiling = 2 x base)
    f(trust)  = 0.5 + trust / 100          user trust 0..100 -> 0.5..1.5 (anonymous: 50 -> 1.0)
    g(threat) = 1 - 0.75 x confidence/100  decayed confidence of a threat-intel hit on the IP
                                           (no hit -> 1.0; a certain hit -> 0.25)

Counting happens in Redis (fakeredis in embedded mode): one INCR per request on a key
that expires with its window, sent in the same pipeline as the block checks (one round
trip per request); while Redis does not answer, in per-process counters
(ratestore.py). A window that goes over its limit is recorded in
rate_limit_entries as a block until the end of the window plus a penalty, with a
security event; the block is mirrored in Redis so later requests are refused without
touching the database. Admins lift blocks on the Blocks page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, jsonify, render_template, request
from flask_login import current_user

from app.core.security_events import record as record_security_event
from app.indicators.store import effective_confidence, match_ip
from app.models import ApiKey, RateLimitEntry, db, utcnow
from app.threats.blocks import active_block, retry_after_seconds
from app.threats.ratestore import store

WINDOW_SECONDS = 60
# group: (base requests per window, penalty minutes after going over)
GROUPS = {
    "auth": (10, 15),
    "write": (120, 5),
    "read": (600, 2),
    # Fleet agents, counted per device key: a customer site with hundreds of scanners behind
    # one NAT address must not share one address's budget. Heartbeats come every 60 s and
    # command polls every 15 s or so; 30 a minute leaves room for retries.
    "agent": (30, 2),
    # ...and a ceiling per address, so made-up keys from one host are still bounded.
    "agent_ip": (6000, 2),
}
# Every endpoint that accepts a password or an MFA code shares the sign-in budget and its
# blocks (issue 11.5): otherwise the token endpoint is a way around the sign-in form's limit.
AUTH_ENDPOINTS = frozenset({
    "auth.login", "auth.mfa_challenge", "auth.set_password", "auth.forgot_password",
    "auth.change_password", "auth.mfa_disable", "auth.mfa_backup_codes", "auth.mfa_enrol",
    "api.token",
})
EXEMPT_ENDPOINTS = frozenset({"static", "core.health"})
MULTIPLIER_TTL = 60


@dataclass
class Decision:
    group: str
    subject: str
    count: int
    limit: int
    trust_multiplier: float
    threat_multiplier: float

    @property
    def over(self) -> bool:
        return self.count > self.limit


def adaptive_limit(base: int, trust: float, intel_confidence: float | None) -> tuple[int, float, float]:
    """The documented formula; returns (limit, f(trust), g(threat))."""
    f = 0.5 + max(0.0, min(100.0, trust)) / 100
    g = 1 - 0.75 * max(0.0, min(100.0, intel_confidence or 0.0)) / 100
    floor, ceiling = math.ceil(base / 5), 2 * base
    limit = math.floor(base * f * g + 0.5)  # half up, so 2.5 -> 3
    return max(floor, min(ceiling, limit)), round(f, 2), round(g, 2)


def is_agent_endpoint(endpoint: str | None) -> bool:
    return bool(endpoint) and endpoint.startswith("api.agent_") and endpoint != "api.agent_enrol"


def agent_key_prefix() -> str | None:
    """The public prefix of the bearer key ("vgl_ab12cd34"), read without a database lookup."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    parts = header[7:].strip().split("_")
    return "_".join(parts[:2])[:40] if len(parts) >= 3 else None


def group_of(endpoint: str | None, method: str) -> str | None:
    if endpoint is None or endpoint in EXEMPT_ENDPOINTS:
        return None
    if is_agent_endpoint(endpoint):
        return "agent"
    if endpoint in AUTH_ENDPOINTS and method == "POST":
        return "auth"
    return "read" if method in ("GET", "HEAD", "OPTIONS") else "write"


def block_key(group: str, subject: str) -> str:
    return f"vigil:rl:block:{group}:{subject}"


def _threat_multiplier_confidence(ip: str, org_id: int | None) -> float | None:
    """Decayed intel confidence for this IP in this org, cached for a minute."""
    if org_id is None:
        return None
    key = f"vigil:rl:intel:{org_id}:{ip}"
    cached = store().get(key)
    if cached is not None:
        value = float(cached)
        return value or None
    hit = match_ip(org_id, ip)
    value = effective_confidence(hit) if hit else 0.0
    store().set(key, value, MULTIPLIER_TTL)
    return value or None


def subject_of(group: str, ip: str, user=None) -> str:
    if group == "agent":
        prefix = agent_key_prefix()
        return f"key:{prefix}" if prefix else f"ip:{ip}"
    return f"user:{user.id}" if (user is not None and group != "auth") else f"ip:{ip}"


def counter_key(group: str, subject: str) -> str:
    window = int(utcnow().timestamp()) // WINDOW_SECONDS
    return f"vigil:rl:{group}:{subject}:{window}"


def decide(group: str, ip: str, user, count: int) -> Decision:
    base, _ = GROUPS[group]
    trust = float(user.trust_score) if user is not None else 50.0
    confidence = _threat_multiplier_confidence(ip, getattr(user, "org_id", None))
    limit, f, g = adaptive_limit(base, trust, confidence)
    return Decision(group, subject_of(group, ip, user), count, limit, f, g)


def check(group: str, ip: str, user=None) -> Decision:
    count = store().incr(counter_key(group, subject_of(group, ip, user)), WINDOW_SECONDS * 2)
    return decide(group, ip, user, count)


def record_block(decision: Decision, ip: str, user=None) -> RateLimitEntry:
    """Write the window that went over as a block (database and Redis) with a security event."""
    base, penalty = GROUPS[decision.group]
    now = utcnow()
    window_start = now.replace(second=0, microsecond=0)
    until = window_start + timedelta(seconds=WINDOW_SECONDS) + timedelta(minutes=penalty)
    org_id = getattr(user, "org_id", None)
    reason = f"{decision.count} requests in a minute (limit {decision.limit})"
    if decision.group == "agent":
        # Rare (only when blocking): name the device so its organization's admins see the block.
        key = db.session.scalar(sa.select(ApiKey).where(ApiKey.key_prefix == decision.subject.removeprefix("key:")))
        if key is not None:
            org_id = key.org_id
            reason = f"device {key.device_id} agent key {key.key_prefix}: {reason}"
    entry = RateLimitEntry(
        org_id=org_id, user_id=getattr(user, "id", None), ip_address=ip,
        endpoint=decision.group, request_count=decision.count, window_start=window_start,
        window_end=window_start + timedelta(seconds=WINDOW_SECONDS), base_limit=base, adaptive_limit=decision.limit,
        trust_multiplier=decision.trust_multiplier, threat_multiplier=decision.threat_multiplier,
        is_blocked=True, blocked_until=until, reason=reason,
    )
    db.session.add(entry)
    record_security_event("rate_limit_block", f"Rate limit: {decision.group} blocked until {until:%H:%M} UTC",
                          user=user, action="block",
                          details={"count": decision.count, "limit": decision.limit, "group": decision.group})
    db.session.commit()
    store().set(block_key(decision.group, decision.subject), entry.id, max(1, int((until - now).total_seconds())))
    return entry


def too_many(retry_after: int):
    message = f"Too many requests. Try again in {max(1, math.ceil(retry_after / 60))} minute(s)."
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        response = jsonify(error={"code": "rate_limited", "message": message, "retry_after": retry_after})
        response.status_code = 429
    else:
        response = current_app.response_class(render_template("errors/error.html", status=429, message=message),
                                              status=429)
    response.headers["Retry-After"] = str(retry_after)
    return response


def credential_block(ip: str):
    """429 while the address is blocked from credential checks: by a threat response or by
    this limiter, read from the database so it holds on every process and without Redis."""
    block = active_block(ip, "auth")
    return too_many(retry_after_seconds(block)) if block is not None else None


def enforce():
    """before_request: refuse blocked subjects; count this request; block when over."""
    group = group_of(request.endpoint, request.method)
    if group is None:
        return None
    ip = request.remote_addr or "unknown"
    if group == "auth" and (blocked := credential_block(ip)) is not None:
        return blocked
    if current_app.config.get("RATE_LIMITS_ENABLED") is False:
        return None
    # A fleet agent is counted by its key, never by a browser session: its requests do not
    # load one (no session cookie read, no user loader).
    user = None if group == "agent" or not current_user.is_authenticated else current_user._get_current_object()
    groups = (group, "agent_ip") if group == "agent" else (group,)
    subjects = [subject_of(each, ip, user) for each in groups]
    # One round trip: every block's TTL and every window's count, pipelined. A request
    # refused by a block is counted too, which changes nothing (the block already holds).
    ttls, counts = store().hit([block_key(g, s) for g, s in zip(groups, subjects, strict=True)],
                               [counter_key(g, s) for g, s in zip(groups, subjects, strict=True)], WINDOW_SECONDS * 2)
    for ttl in ttls:
        if ttl and ttl > 0:
            return too_many(ttl)
    for each, count in zip(groups, counts, strict=True):
        decision = decide(each, ip, user, count)
        if decision.over:
            entry = record_block(decision, ip, user)
            return too_many(max(1, int((entry.blocked_until - utcnow()).total_seconds())))
    return None


def lift(entry: RateLimitEntry) -> None:
    """Remove the Redis mirror of a block that an admin lifted."""
    if entry.endpoint == "agent":
        # Agent blocks are per device key, which the entry does not hold: find the mirror by id.
        store().delete_where(block_key("agent", ""), entry.id)
        return
    subject = f"user:{entry.user_id}" if (entry.user_id and entry.endpoint != "auth") else f"ip:{entry.ip_address}"
    store().delete(block_key(entry.endpoint, subject))
