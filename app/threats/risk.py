"""The ONE risk score of Vigil's security events, and the action it leads to.

score(inputs) is deterministic: the same inputs give the same score, and every point is
named in `factors` so the page can explain it. Points (total clamped to 0..100):

| input                                              | points                        |
|----------------------------------------------------|-------------------------------|
| new device: no trusted-browser cookie, and this    | +20                           |
|   user agent never signed this user in (90 days)   |                               |
| new IP address for this user (90 days)             | +10                           |
| ... and a new network (/24 for IPv4, /48 for IPv6) | +15                           |
| unusual hour: under 5% of the user's past sign-ins | +10 (needs 10+ past sign-ins) |
|   fall within one hour of this one                 |                               |
| failed sign-ins in the last hour                   | +5 each for the account,      |
|                                                    | +3 each from the IP (any      |
|                                                    | account), together at most 30 |
| user trust (0..100, 50 neutral)                    | (50 - trust) / 5: -10..+10    |
| trusted device (0..100)                            | -trust / 10: 0..-10           |
| threat-intelligence hit on the IP                  | +40 x decayed confidence/100  |
| impossible travel: the previous successful sign-in | +30                           |
|   (24 h) was over 500 km away at over 900 km/h     |                               |
| an indicator sighting on this user (their e-mail   | +15                           |
|   matched an indicator) in the last 30 days        |                               |

Action: score < 40 allow; 40..69 challenge (ask for the second factor even on a trusted
browser); >= 70 deny (CHALLENGE_AT, DENY_AT below).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.indicators import geo
from app.indicators.store import effective_confidence, match_ip
from app.models import (
    IocSighting,
    LoginAttempt,
    SecurityEvent,
    ThreatIntelligence,
    TrustedDevice,
    User,
    db,
    utcnow,
)

CHALLENGE_AT = 40
DENY_AT = 70
HISTORY_DAYS = 90
MIN_HISTORY_FOR_HOURS = 10
# Impossible travel: faster than an airliner over a distance that is not the same region.
TRAVEL_MIN_KM = 500
TRAVEL_MAX_KMH = 900
TRAVEL_WINDOW_HOURS = 24
SIGHTING_DAYS = 30


@dataclass
class RiskInputs:
    new_device: bool = False
    new_ip: bool = False
    new_network: bool = False
    unusual_hour: bool = False
    user_failures_1h: int = 0
    ip_failures_1h: int = 0
    user_trust: float = 50.0
    device_trust: float | None = None
    intel_confidence: float | None = None
    intel_id: int | None = None
    impossible_travel: bool = False
    travel: dict | None = None  # from/to countries, km, km/h: shown on the event
    user_sighted: bool = False


@dataclass
class RiskAssessment:
    score: int
    action: str
    factors: dict[str, float] = field(default_factory=dict)
    inputs: RiskInputs | None = None


def network_of(ip: str) -> str | None:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def score(inputs: RiskInputs) -> tuple[int, dict[str, float]]:
    factors: dict[str, float] = {}
    if inputs.new_device:
        factors["new_device"] = 20
    if inputs.new_ip:
        factors["new_ip"] = 10
    if inputs.new_network:
        factors["new_network"] = 15
    if inputs.unusual_hour:
        factors["unusual_hour"] = 10
    failures = min(30, 5 * inputs.user_failures_1h + 3 * inputs.ip_failures_1h)
    if failures:
        factors["recent_failures"] = failures
    trust = (50 - max(0.0, min(100.0, inputs.user_trust))) / 5
    if trust:
        factors["user_trust"] = round(trust, 2)
    if inputs.device_trust is not None:
        factors["device_trust"] = -round(max(0.0, min(100.0, inputs.device_trust)) / 10, 2)
    if inputs.intel_confidence:
        factors["threat_intel"] = round(40 * inputs.intel_confidence / 100, 2)
    if inputs.impossible_travel:
        factors["impossible_travel"] = 30
    if inputs.user_sighted:
        factors["indicator_sighting"] = 15
    total = int(round(max(0.0, min(100.0, sum(factors.values())))))
    return total, factors


def decide(total: int, challenge_at: int = CHALLENGE_AT, deny_at: int = DENY_AT) -> str:
    if total >= deny_at:
        return "deny"
    if total >= challenge_at:
        return "challenge"
    return "allow"


def gather(user: User | None, ip: str | None, user_agent: str | None, device: TrustedDevice | None,
           org_id: int | None, now: datetime | None = None) -> RiskInputs:
    """Collect the inputs from this user's own history, recent failures and the intel."""
    now = now or utcnow()
    inputs = RiskInputs()
    hour_ago = now - timedelta(hours=1)
    if ip:
        inputs.ip_failures_1h = db.session.scalar(sa.select(sa.func.count(LoginAttempt.id)).where(
            LoginAttempt.ip_address == ip, LoginAttempt.success.is_(False), LoginAttempt.attempted_at > hour_ago)) or 0
    hit: ThreatIntelligence | None = match_ip(org_id, ip)
    if hit is not None:
        inputs.intel_confidence = effective_confidence(hit, now)
        inputs.intel_id = hit.id
    if user is None:
        return inputs
    inputs.user_trust = float(user.trust_score)
    inputs.user_failures_1h = db.session.scalar(sa.select(sa.func.count(LoginAttempt.id)).where(
        LoginAttempt.user_id == user.id, LoginAttempt.success.is_(False), LoginAttempt.attempted_at > hour_ago)) or 0
    history = db.session.execute(sa.select(LoginAttempt.ip_address, LoginAttempt.user_agent, LoginAttempt.attempted_at)
                                 .where(LoginAttempt.user_id == user.id, LoginAttempt.success.is_(True),
                                        LoginAttempt.attempted_at > now - timedelta(days=HISTORY_DAYS))).all()
    if device is not None:
        inputs.device_trust = float(device.trust_score)
    else:
        inputs.new_device = not any(row.user_agent == user_agent for row in history)
    if ip and history:
        inputs.new_ip = not any(row.ip_address == ip for row in history)
        network = network_of(ip)
        inputs.new_network = inputs.new_ip and not any(network_of(row.ip_address) == network for row in history)
    elif ip:
        inputs.new_ip = True  # a first sign-in: nothing is known yet (the network is not scored)
    if len(history) >= MIN_HISTORY_FOR_HOURS:
        near = sum(1 for row in history if _hour_distance(row.attempted_at.hour, now.hour) <= 1)
        inputs.unusual_hour = near / len(history) < 0.05
    if ip:
        inputs.travel = travel_from_last_sign_in(user.id, ip, now)
        inputs.impossible_travel = inputs.travel is not None and inputs.travel["impossible"]
    inputs.user_sighted = db.session.scalar(sa.select(IocSighting.id).where(
        IocSighting.source == "user", IocSighting.object_id == str(user.id),
        IocSighting.observed_at > now - timedelta(days=SIGHTING_DAYS)).limit(1)) is not None
    return inputs


def travel_from_last_sign_in(user_id: int, ip: str, now: datetime) -> dict | None:
    """Distance and speed from the user's previous located successful sign-in (within
    TRAVEL_WINDOW_HOURS) to `ip`, or None when either end cannot be located."""
    here = geo.locate(ip)
    if here is None:
        return None
    recent = db.session.execute(
        sa.select(SecurityEvent.geolocation, SecurityEvent.created_at, SecurityEvent.ip_address)
        .where(SecurityEvent.user_id == user_id, SecurityEvent.event_type == "login_success",
               SecurityEvent.created_at > now - timedelta(hours=TRAVEL_WINDOW_HOURS))
        .order_by(SecurityEvent.created_at.desc()).limit(5)
    ).all()
    previous = next((row for row in recent if row.geolocation), None)
    if previous is None:
        return None
    km = geo.distance_km(previous.geolocation, here)
    if km is None:
        return None
    hours = max((now - previous.created_at).total_seconds() / 3600, 1 / 60)
    kmh = km / hours
    return {"from": previous.geolocation.get("country_code"), "to": here["country_code"],
            "from_ip": previous.ip_address, "km": round(km), "kmh": round(kmh),
            "impossible": km >= TRAVEL_MIN_KM and kmh > TRAVEL_MAX_KMH}


def _hour_distance(a: int, b: int) -> int:
    d = abs(a - b) % 24
    return min(d, 24 - d)


def assess(user: User | None, ip: str | None, user_agent: str | None, device: TrustedDevice | None = None,
           org_id: int | None = None) -> RiskAssessment:
    """Score a sign-in (or any event) of `user` from `ip` with `user_agent`."""
    inputs = gather(user, ip, user_agent, device, org_id if org_id is not None else getattr(user, "org_id", None))
    total, factors = score(inputs)
    return RiskAssessment(total, decide(total), factors, inputs)
