"""Threat actors likely to target the organization, from the MISP galaxy "Threat Actor"
cluster shipped in the pymispgalaxies package (data: MISP Project, dual-licensed CC0 1.0 or
BSD-2-Clause, `pymispgalaxies/data/misp-galaxy/LICENSE.md`).

Score per actor (issue 15.6): industry 35 (the organization's industry among the actor's
`cfr-target-category` / `targeted-sector`), region 25 (one of its countries among
`cfr-suspected-victims`), tech stack 20 (one of its technologies named in the actor's
description), attack surface 10 (the organization has internet-facing services and the actor
runs intrusions), data value 10 (high-value data and an espionage or financially motivated
actor; 5 for medium). An actor is listed at 30 or more, with the reasons.
The organization's profile lives in its policy JSON under "exposure".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from app.models import Organization, db

THRESHOLD = 30
INDUSTRIES: dict[str, tuple[str, ...]] = {
    "Government": ("government", "administration", "diplomat", "embass"),
    "Defense": ("defense", "defence", "military", "aerospace"),
    "Financial": ("financial", "finance", "bank", "insurance", "cryptocurrenc"),
    "Healthcare": ("health", "medical", "pharmaceutical", "hospital"),
    "Energy": ("energy", "oil", "gas", "utilit", "nuclear", "electric"),
    "Technology": ("technology", "telecommunication", "software", "it "),
    "Education": ("education", "academic", "universit", "research", "think tank"),
    "Manufacturing": ("manufactur", "industrial", "automotive", "chemical"),
    "Retail": ("retail", "hospitality", "e-commerce", "restaurant"),
    "Media": ("media", "journalist", "entertainment"),
    "Transportation": ("transport", "aviation", "shipping", "logistics"),
}
DATA_VALUES = ("low", "medium", "high")


@dataclass
class Match:
    name: str
    total: int
    reasons: list[str] = field(default_factory=list)
    country: str | None = None
    synonyms: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)


@lru_cache(maxsize=1)
def actors() -> tuple[dict[str, Any], ...]:
    path = resources.files("pymispgalaxies") / "data" / "misp-galaxy" / "clusters" / "threat-actor.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return tuple(data["values"])


def context(org: Organization) -> dict[str, Any]:
    return dict((org.policy or {}).get("exposure") or {})


def save_context(org: Organization, values: dict[str, Any]) -> dict[str, Any]:
    """Store the organization's threat profile (a new dict, so the JSON column is seen as changed)."""
    policy = dict(org.policy or {})
    old = dict(policy.get("exposure") or {})
    policy["exposure"] = {**old, **values}
    org.policy = policy
    return old


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def score_actor(actor: dict[str, Any], profile: dict[str, Any]) -> Match:
    meta = actor.get("meta") or {}
    match = Match(actor.get("value", "?"), 0, country=meta.get("country"), synonyms=_as_list(meta.get("synonyms"))[:6],
                  refs=_as_list(meta.get("refs"))[:3])
    sectors = " | ".join(_as_list(meta.get("cfr-target-category")) + _as_list(meta.get("targeted-sector"))).lower()
    industry = profile.get("industry")
    hit = next((k for k in INDUSTRIES.get(industry, ()) if k in sectors), None) if industry else None
    if hit:
        match.total += 35
        match.reasons.append(f"targets {industry.lower()} (\"{hit.strip()}\" in its target sectors) +35")
    victims = {v.lower() for v in _as_list(meta.get("cfr-suspected-victims"))}
    regions = [r for r in profile.get("regions") or [] if r.lower() in victims]
    if regions:
        match.total += 25
        match.reasons.append(f"suspected victims in {', '.join(regions)} +25")
    description = (actor.get("description") or "").lower()
    techs = [t for t in profile.get("technologies") or []
             if re.search(rf"(?<![a-z0-9]){re.escape(t.lower())}(?![a-z0-9])", description)]
    if techs:
        match.total += 20
        match.reasons.append(f"known to go after {', '.join(techs)} +20")
    incident = " ".join(_as_list(meta.get("cfr-type-of-incident"))).lower()
    if profile.get("internet_facing") and incident:
        match.total += 10
        match.reasons.append("intrusions against internet-facing services +10")
    motivated = "espionage" in incident or "financial" in description or "financially" in description
    value = profile.get("data_value")
    if motivated and value in ("high", "medium"):
        points = 10 if value == "high" else 5
        match.total += points
        match.reasons.append(f"{value}-value data and an espionage or financial motive +{points}")
    return match


def likely_actors(org_id: int, limit: int = 50) -> list[Match]:
    """Actors scoring THRESHOLD or more for the organization, highest first."""
    profile = context(db.session.get(Organization, org_id))
    if not profile:
        return []
    scored = [score_actor(a, profile) for a in actors()]
    listed = [m for m in scored if m.total >= THRESHOLD]
    return sorted(listed, key=lambda m: (-m.total, m.name))[:limit]
