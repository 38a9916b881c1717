"""The indicator store (part of the indicators engine, issue 21): normalising a value into its
canonical form, adding or renewing an organization's indicator, the decayed confidence, and
looking an address up. Any domain that finds a bad address (a canary hit, a scan) adds or
looks it up here; the threats domain owns the pages, imports and sightings around them
(app/threats/intel.py) and the retro-hunt job a new indicator queues (app/threats/jobs.py).
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from app.indicators.values import HASH_LENGTHS, address_hex, covering_starts
from app.jobs import enqueue
from app.models import Organization, ThreatIntelligence, db, utcnow
from app.outbound import is_private

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Confidence halves every HALF_LIFE_DAYS without a new sighting (MISP-style decay).
HALF_LIFE_DAYS = 90


class IndicatorError(ValueError):
    """A value that is not a valid indicator of its type."""


def normalise(indicator_type: str, value: str) -> tuple[str, str | None, str | None]:
    """The canonical value and, for ip/cidr, the range (start, end) as hex."""
    value = value.strip()
    if indicator_type in ("ip", "cidr"):
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError as exc:
            raise IndicatorError(f"{value!r} is not an IP address or network") from exc
        if indicator_type == "ip" and network.num_addresses != 1:
            indicator_type = "cidr"
        canonical = str(network.network_address) if network.num_addresses == 1 else str(network)
        return canonical, address_hex(network.network_address), address_hex(network.broadcast_address)
    lowered = value.lower()
    if indicator_type == "domain":
        lowered = lowered.rstrip(".")
        if not DOMAIN_RE.match(lowered):
            raise IndicatorError(f"{value!r} is not a domain name")
    elif indicator_type == "email":
        if not EMAIL_RE.match(lowered):
            raise IndicatorError(f"{value!r} is not an email address")
    elif indicator_type == "url":
        if not re.match(r"^[a-z][a-z0-9+.-]*://\S+$", lowered):
            raise IndicatorError(f"{value!r} is not a URL")
        lowered = value  # paths are case-sensitive
    elif indicator_type in HASH_LENGTHS:
        if not re.fullmatch(rf"[0-9a-f]{{{HASH_LENGTHS[indicator_type]}}}", lowered):
            raise IndicatorError(f"{value!r} is not a {indicator_type} hash")
    else:
        raise IndicatorError(f"unknown indicator type {indicator_type!r}")
    return lowered, None, None


def effective_confidence(ioc: ThreatIntelligence, now: datetime | None = None) -> float:
    """The stored confidence decayed by the time since the indicator was last seen."""
    now = now or utcnow()
    age_days = max(0.0, (now - ioc.last_seen).total_seconds() / 86400)
    return float(ioc.confidence) * 0.5 ** (age_days / HALF_LIFE_DAYS)


def active_filter(now: datetime):
    return sa.and_(
        ThreatIntelligence.is_active.is_(True),
        sa.or_(ThreatIntelligence.expires_at.is_(None), ThreatIntelligence.expires_at > now),
    )


def match_ip(org_id: int | None, ip: str | None) -> ThreatIntelligence | None:
    """The most confident active ip/cidr indicator of the organization covering `ip`."""
    if org_id is None or not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    key = address_hex(address)
    now = utcnow()
    # Only the range index in SQL (a planner offered the active/expiry index as well may
    # scan every indicator); the few candidates are filtered for activity here.
    candidates = [ioc for ioc in db.session.scalars(
        sa.select(ThreatIntelligence).where(
            ThreatIntelligence.org_id == org_id,
            ThreatIntelligence.range_start.in_(covering_starts(address)),
            ThreatIntelligence.range_end >= key,
        )
    ) if ioc.is_active and (ioc.expires_at is None or ioc.expires_at > now)]
    if not candidates:
        return None
    return max(candidates, key=lambda ioc: effective_confidence(ioc, now))


def benign_reason(org_id: int, indicator_type: str, canonical: str) -> str | None:
    """Why a value is known-benign for this organization (so it must not become an
    indicator), or None. Private, loopback, link-local and reserved addresses, and the
    organization's own domains, would otherwise flag everyday traffic."""
    if indicator_type in ("ip", "cidr"):
        network = ipaddress.ip_network(canonical, strict=False)
        if is_private(network):
            return f"{canonical} is a private or reserved address (allowlisted)"
    if indicator_type in ("domain", "email", "url"):
        org = db.session.get(Organization, org_id)
        own = {d.lower() for d in [*(org.domains or []), org.primary_domain or ""] if d} if org else set()
        host = canonical.split("@")[-1] if indicator_type == "email" else canonical
        if indicator_type == "url":
            host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", canonical.lower()).split("/")[0].split(":")[0]
        if any(host == d or host.endswith("." + d) for d in own):
            return f"{host} is one of the organization's own domains (allowlisted)"
    return None


def add_indicator(org_id: int, indicator_type: str, value: str, hunt: bool = True,
                  **fields) -> tuple[ThreatIntelligence, bool]:
    """Create an indicator, or renew the existing one with the same type and value.

    A new indicator gets a retro-hunt job (after commit) unless `hunt` is False (an import
    hunts once for all its indicators). Returns (indicator, created). Raises IndicatorError
    for invalid or allowlisted values.
    """
    canonical, start, end = normalise(indicator_type, value)
    reason = benign_reason(org_id, indicator_type, canonical)
    if reason:
        raise IndicatorError(reason)
    if start and end and start == end:
        indicator_type = "ip"
    elif start:
        indicator_type = "cidr"
    existing = db.session.scalar(sa.select(ThreatIntelligence).where(
        ThreatIntelligence.org_id == org_id, ThreatIntelligence.indicator_type == indicator_type,
        ThreatIntelligence.indicator_value == canonical))
    if existing is not None:
        existing.last_seen = utcnow()
        existing.is_active = True
        if "confidence" in fields and fields["confidence"] is not None:
            existing.confidence = max(existing.confidence, Decimal(str(fields["confidence"])))
        return existing, False
    ioc = ThreatIntelligence(org_id=org_id, indicator_type=indicator_type, indicator_value=canonical,
                             range_start=start, range_end=end,
                             **{k: v for k, v in fields.items() if v is not None})
    db.session.add(ioc)
    db.session.flush()
    if hunt:
        enqueue("threats.retro_hunt", org_id=org_id, intel_id=ioc.id)
    return ioc, True
