"""Canary token rules: create, find, record a hit, revoke, and what a token page shows.

Views, the honeypot, the DNS and PostgreSQL listeners and the CLI all call these. Nothing
here commits: the caller's request or command carries the transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from redis.exceptions import RedisError

from app import audit, crypto
from app.alerting import events
from app.bait import attribution, kinds, reputation, settings
from app.indicators import geo
from app.indicators.store import IndicatorError, add_indicator
from app.jobs import enqueue
from app.jobs.queue import get_redis
from app.models import Alert, BaitAccess, BaitToken, Organization, Site, db, utcnow

PROBE_KEY = "bait:probes"
HIT_EVENT = "bait.token_hit"
# The address a DNS query comes from is the resolver's, not the intruder's: never an indicator.
NO_INDICATOR_TYPES = ("dns",)


class BaitError(ValueError):
    pass


@dataclass(frozen=True)
class Hit:
    """What one client sent when it touched a token (built by the honeypot or a listener)."""

    source_ip: str | None
    request_type: str
    user_agent: str | None = None
    headers: dict[str, str] | None = None
    body: str | None = None
    notes: str | None = None


def create_token(org_id: int, kind: str, name: str, *, memo: str | None = None, user: Any = None,
                 expires_at: datetime | None = None, actor_label: str | None = None) -> BaitToken:
    """A new active token of `kind` with a fresh identifier, its trigger and sealed credential (audited)."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise BaitError("A name of 1 to 200 characters.")
    if kind not in kinds.KINDS:
        raise BaitError(f"Unknown kind {kind!r}; one of {', '.join(kinds.KINDS)}.")
    try:
        identifier = kinds.new_identifier()
        trigger = kinds.trigger(kind, identifier)
    except kinds.KindError as exc:
        raise BaitError(str(exc)) from exc
    secret = kinds.credential(kind, identifier)
    token = BaitToken(org_id=org_id, identifier=identifier, trigger=trigger, name=name, bait_type=kind,
                      token_value=crypto.encrypt_text(json.dumps(secret)) if secret else None,
                      memo=(memo or "").strip()[:2000] or None, expires_at=expires_at,
                      user_id=getattr(user, "id", None), status="active")
    db.session.add(token)
    db.session.flush()
    audit.record("bait.token_created", resource_type="bait_token", resource_id=token.id, org_id=org_id,
                 actor=user, actor_type=None if user else "system", actor_label=None if user else actor_label,
                 new={"name": name, "bait_type": kind, "identifier": identifier})
    return token


def secret_of(token: BaitToken) -> dict[str, Any]:
    return json.loads(crypto.decrypt_text(token.token_value)) if token.token_value else {}


def revoke(token: BaitToken, user: Any) -> bool:
    """Stop a token firing (its later hits count as probes); audited. False when already revoked."""
    if token.status == "revoked":
        return False
    old = token.status
    token.status = "revoked"
    audit.record("bait.token_revoked", resource_type="bait_token", resource_id=token.id, org_id=token.org_id,
                 actor=user, old={"status": old}, new={"status": "revoked"})
    return True


def live_token(*, identifier: str | None = None, trigger: str | None = None) -> BaitToken | None:
    """The token that may fire for this identifier or trigger: not deleted, revoked or expired.

    A token past its expiry is marked expired here, the first time something touches it.
    """
    if not identifier and not trigger:
        return None
    column = BaitToken.identifier if identifier else BaitToken.trigger
    token = db.session.scalar(sa.select(BaitToken).where(column == (identifier or trigger),
                                                         BaitToken.deleted_at.is_(None)))
    if token is None or token.status in ("revoked", "expired"):
        return None
    if token.expires_at is not None and token.expires_at <= utcnow():
        token.status = "expired"
        audit.record("bait.token_expired", resource_type="bait_token", resource_id=token.id, org_id=token.org_id,
                     actor_type="system", actor_label="honeypot", old={"status": "active"}, new={"status": "expired"})
        return None
    return token


def count_probe() -> None:
    """An unknown (or dead) identifier was tried: counted, never stored as an access."""
    get_redis().incr(PROBE_KEY)


def probe_count() -> int | None:
    """Touches of unknown identifiers (kept in Redis only); None while Redis does not answer."""
    try:
        return int(get_redis().get(PROBE_KEY) or 0)
    except RedisError:
        return None  # the page still works without Redis; the count says it is unavailable


def located(ip: str | None) -> str | None:
    """The hit's place as stored: city, region and country when the city database is installed."""
    place = geo.label(geo.locate(ip))
    return place[:200] if place else None


def address_counts(org_id: int, ip: str | None) -> tuple[int, int]:
    """(hits, distinct tokens) already recorded from this address in the organization."""
    if not ip:
        return 0, 0
    row = db.session.execute(sa.select(sa.func.count(BaitAccess.id), sa.func.count(sa.distinct(BaitAccess.bait_id)))
                             .where(BaitAccess.org_id == org_id, BaitAccess.source_ip == ip)).one()
    return int(row[0]), int(row[1])


def tokens_touched(org_id: int, ip: str) -> set[int]:
    return set(db.session.scalars(sa.select(BaitAccess.bait_id).where(BaitAccess.org_id == org_id,
                                                                      BaitAccess.source_ip == ip)))


def own_site_address(org_id: int, ip: str) -> bool:
    """Whether `ip` is the public address of one of the organization's sites."""
    return db.session.scalar(sa.select(Site.id).where(Site.org_id == org_id, Site.deleted_at.is_(None),
                                                      Site.public_ip == ip).limit(1)) is not None


def make_indicator(token: BaitToken, hit: Hit, attr: attribution.Attribution, level: str) -> None:
    """The address becomes a threat-intelligence indicator (source "bait"), unless it is one of
    the organization's own site addresses, or private, reserved or allowlisted (add_indicator
    refuses those)."""
    if not hit.source_ip or hit.request_type in NO_INDICATOR_TYPES or own_site_address(token.org_id, hit.source_ip):
        return
    try:
        add_indicator(token.org_id, "ip", hit.source_ip, source="bait", threat_type="canary token access",
                      severity="critical" if level == "critical" else "high", confidence=attr.confidence,
                      description=f"Touched canary token '{token.name}' ({token.bait_type})")
    except IndicatorError:
        return


def record_hit(token: BaitToken, hit: Hit) -> BaitAccess:
    """Store one access (attributed, located), move the token's counters and status, make the
    address an indicator, audit, and hand the hit to the alert rules."""
    headers = dict(hit.headers or {})
    attr = attribution.attribute(hit.user_agent, headers)
    ip = hit.source_ip
    touched = tokens_touched(token.org_id, ip) if ip else set()
    hits_before, _ = address_counts(token.org_id, ip)
    level = attribution.threat_level(attr.type, hits_before + 1, len(touched | {token.id}))
    make_indicator(token, hit, attr, level)  # before the access is flushed, so matching sights it
    now = utcnow()
    limit = settings.body_limit()
    access = BaitAccess(org_id=token.org_id, bait_id=token.id, accessed_at=now, source_ip=ip,
                        user_agent=(hit.user_agent or "")[:500] or None, request_type=hit.request_type,
                        request_headers=headers, request_body=(hit.body or "")[:limit] or None,
                        fingerprint=attribution.fingerprint(hit.user_agent, headers), geolocation=located(ip),
                        threat_level=level, notes="; ".join((*attr.reasons, *([hit.notes] if hit.notes else []))),
                        accept_language=(attribution.header(headers, "Accept-Language") or "")[:300] or None,
                        referer=(attribution.header(headers, "Referer") or "")[:1000] or None,
                        sec_fetch_headers=attribution.sec_fetch(headers), attribution_type=attr.type,
                        attribution_confidence=attr.confidence, evidence_strength=attr.evidence)
    db.session.add(access)
    first = token.first_access is None
    token.first_access = token.first_access or now
    token.last_access = now
    token.access_count = (token.access_count or 0) + 1
    old_status = token.status
    token.status = "triggered"
    db.session.flush()
    audit.record("bait.token_triggered" if first else "bait.token_hit", resource_type="bait_token",
                 resource_id=token.id, org_id=token.org_id, actor_type="system", actor_label="honeypot",
                 old={"status": old_status} if old_status != "triggered" else None,
                 new={"status": "triggered", "access_count": token.access_count},
                 details={"access_id": access.id, "source_ip": ip, "request_type": hit.request_type,
                          "attribution": attr.type, "threat_level": level})
    events.publish(HIT_EVENT, token=token, access=access)
    if reputation.lookable(ip) and reputation.configured(token.org_id):
        enqueue("bait.reputation", org_id=token.org_id, access_id=access.id)  # pushed after commit
    return access


def org_tokens(org_id: int, status: str | None = None) -> list[BaitToken]:
    stmt = sa.select(BaitToken).where(BaitToken.org_id == org_id, BaitToken.deleted_at.is_(None))
    if status:
        stmt = stmt.where(BaitToken.status == status)
    return list(db.session.scalars(stmt.order_by(BaitToken.last_access.desc().nulls_last(), BaitToken.id.desc())))


def org_by_slug(slug: str) -> Organization | None:
    return db.session.scalar(sa.select(Organization).where(Organization.slug == slug,
                                                          Organization.deleted_at.is_(None)))


def token_threat_level(token: BaitToken) -> str | None:
    """The highest threat level among the token's accesses (None before the first)."""
    levels = {a.threat_level for a in token.accesses}
    for level in reversed(attribution.LEVELS):
        if level in levels:
            return level
    return None


def sources(token: BaitToken) -> list[dict[str, Any]]:
    """The token's source addresses: hits, first and last time, location, best attribution."""
    out: dict[str, dict[str, Any]] = {}
    for a in sorted(token.accesses, key=lambda a: a.accessed_at):
        row = out.setdefault(a.source_ip or "unknown", {"ip": a.source_ip, "hits": 0, "first": a.accessed_at,
                                                         "location": geo.locate(a.source_ip),
                                                         "geolocation": a.geolocation, "types": set()})
        row["hits"] += 1
        row["last"] = a.accessed_at
        row["types"].add(a.attribution_type)
        row["threat_level"] = a.threat_level
    return sorted(out.values(), key=lambda r: r["last"], reverse=True)


def map_points(sources_: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sources with a location, for the map (city points with the city database, else country points)."""
    return [{"ip": s["ip"], "lat": s["location"]["lat"], "lon": s["location"]["lon"], "hits": s["hits"],
             "level": s["threat_level"], "place": s["geolocation"] or s["location"]["country"]}
            for s in sources_ if s["location"] and "lat" in s["location"]]


def as_json(token: BaitToken) -> dict[str, Any]:
    return {"id": token.id, "name": token.name, "identifier": token.identifier, "type": token.bait_type,
            "trigger": token.trigger, "status": token.status, "access_count": token.access_count,
            "threat_level": token_threat_level(token),
            "first_access": token.first_access.isoformat() if token.first_access else None,
            "last_access": token.last_access.isoformat() if token.last_access else None,
            "created_at": token.created_at.isoformat() if token.created_at else None}


def token_alerts(token: BaitToken) -> list[Alert]:
    """The token's alerts (one per source address), unresolved first, newest first."""
    return list(db.session.scalars(sa.select(Alert).where(
        Alert.org_id == token.org_id, Alert.domain == "bait", Alert.target_key.like(f"token:{token.id}:%"))
        .order_by((Alert.status == "resolved").asc(), Alert.fired_at.desc()).limit(50)))


def has_expired_tokens() -> bool:
    return db.session.scalar(sa.select(BaitToken.id).where(
        BaitToken.status.in_(("active", "triggered")), BaitToken.expires_at <= utcnow()).limit(1)) is not None


def expire_due(label: str) -> int:
    """Mark tokens past their expiry as expired (each audited); returns how many."""
    due = db.session.scalars(sa.select(BaitToken).where(BaitToken.status.in_(("active", "triggered")),
                                                        BaitToken.expires_at <= utcnow()))
    count = 0
    for token in due:
        audit.record("bait.token_expired", resource_type="bait_token", resource_id=token.id, org_id=token.org_id,
                     actor_type="job", actor_label=label, old={"status": token.status}, new={"status": "expired"})
        token.status = "expired"
        count += 1
    return count
