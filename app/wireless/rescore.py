"""Rescoring: feed networks and their sightings to the ONE scorer (app/wireless/scoring.py),
blend in the active model, and store the result with its history row.

New sightings and tag changes set `networks.needs_rescore`; `rescore(org_id)` takes only
those, `rescore(org_id, everything=True)` takes all. Work goes in batches of networks: one
query for their sightings, one for their tags, one bulk UPDATE and one bulk INSERT per batch,
and a commit per batch so a long run holds no long transaction and loses nothing finished.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app.alerting import events
from app.models import Organization, db, utcnow
from app.models.wireless import (
    AgencyOffice,
    LocationMarker,
    Network,
    NetworkTag,
    NetworkThreatScore,
    Observation,
)
from app.wireless import ml, org_settings, places
from app.wireless.scoring import (
    DISMISS_TAGS,
    NetworkInfo,
    ScoringConfig,
    ScoringContext,
    Sighting,
    apply_tags,
    blend,
    level_for,
    score_network,
)
from app.wireless.scoring_places import learn_places

BATCH = 500
HIGH_LEVELS = ("HIGH", "CRITICAL")


@dataclass
class RescoreResult:
    scored: int = 0
    levels: dict[str, int] | None = None
    model_version: str | None = None


def scoring_config(org_id: int) -> ScoringConfig:
    """The organization's scoring settings (defaults where none are stored)."""
    return ScoringConfig.from_mapping(org_settings.wireless_policy(org_id).get("scoring") or {})


def ssid_pattern(ssid: str) -> str | None:
    """The shape of an SSID with its digits and hex tails generalised ("VW_WLAN_3F2A" -> "VW_WLAN_*")."""
    ssid = (ssid or "").strip()
    if len(ssid) < 3:
        return None
    generic = re.sub(r"[0-9A-Fa-f]{4,}$|\d+", "*", ssid)
    generic = re.sub(r"\*+", "*", generic)
    return generic if generic.strip("*-_ ") else None


def scoring_context(org_id: int, config: ScoringConfig | None = None) -> ScoringContext:
    """Home, agency offices, the places the person stays at often, and the current high scorers' makers and SSID shapes."""
    config = config or scoring_config(org_id)
    home = db.session.scalar(sa.select(LocationMarker).where(LocationMarker.org_id == org_id,
                                                             LocationMarker.is_home.is_(True)))
    offices = db.session.execute(sa.select(AgencyOffice.name, AgencyOffice.lat, AgencyOffice.lon)).all()
    # A network marked not a threat counts for no co-traveller factor, even before its
    # stored level catches up with the tag.
    dismissed = sa.select(NetworkTag.id).where(NetworkTag.network_id == Network.id, NetworkTag.removed_at.is_(None),
                                               NetworkTag.tag.in_(sorted(DISMISS_TAGS)))
    high = db.session.execute(
        sa.select(Network.bssid, Network.manufacturer, Network.ssid)
        .where(Network.org_id == org_id, Network.threat_level.in_(HIGH_LEVELS), ~dismissed.exists())
    ).all()
    members: dict[str, set[str]] = {}
    for bssid, maker, ssid in high:
        if maker and maker.strip():
            members.setdefault(maker.strip().lower(), set()).add(bssid)
        if pattern := ssid_pattern(ssid):
            members.setdefault(pattern, set()).add(bssid)
    makers = sorted({m for _, m, _ in high if m})
    patterns = sorted({p for _, _, s in high if (p := ssid_pattern(s))})
    org = db.session.get(Organization, org_id)
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        tz = ZoneInfo(getattr(org, "timezone", None) or "UTC")
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file path
        tz = ZoneInfo("UTC")
    now = utcnow()
    track = places.own_track(org_id, int(now.timestamp() * 1000), config.max_accuracy_m)
    return ScoringContext(
        frequent_places=learn_places(track, config, tz),
        home=(home.lat, home.lon, home.radius_km or 0.5) if home else None,
        agency_offices=[(n, lat, lon) for n, lat, lon in offices],
        fleet_manufacturers=makers, fleet_ssid_patterns=patterns,
        fleet_members={k: frozenset(v) for k, v in members.items()}, now=now, tz=tz,
    )


def _sightings(org_id: int, ids: list[int], limit: int,
               makers: dict[int, int] | None = None) -> dict[int, list[Sighting]]:
    """Each network's newest sightings; `makers` (when given) collects their manufacturer ids."""
    out: dict[int, list[Sighting]] = {i: [] for i in ids}
    makers = {} if makers is None else makers
    rows = db.session.execute(
        sa.select(Observation.network_id, Observation.time, Observation.lat, Observation.lon,
                  Observation.level, Observation.accuracy, Observation.ssid, Observation.time_unknown,
                  Observation.mfgrid)
        .where(Observation.org_id == org_id, Observation.network_id.in_(ids))
        .order_by(Observation.network_id, Observation.time.desc())
    )
    # A sighting without a clock fix (time_unknown) says where, not when: the scorer uses it
    # for places only. Newest first, so the cap keeps timed sightings before clockless ones.
    for network_id, when, lat, lon, level, accuracy, ssid, unknown, mfgrid in rows:
        if mfgrid and network_id not in makers:
            makers[network_id] = mfgrid  # the newest sighting's manufacturer id
        bucket = out[network_id]
        if len(bucket) < limit:
            bucket.append(Sighting(time=when, lat=lat, lon=lon, level=level, accuracy=accuracy, ssid=ssid or "",
                                   time_known=not unknown))
    return out


def _tags(ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in ids}
    for network_id, tag in db.session.execute(
        sa.select(NetworkTag.network_id, NetworkTag.tag)
        .where(NetworkTag.network_id.in_(ids), NetworkTag.removed_at.is_(None))
    ):
        out[network_id].append(tag)
    return out


def _model(org_id: int) -> tuple[Any, str | None]:
    meta = ml.active_model(org_id)
    if meta is None:
        return None, None
    try:
        return ml.load(meta), f"{meta.model_type}-{meta.version}"
    except ml.ModelRejected:
        return None, None  # shown on the models page; scores stay rule-only meanwhile


def score_batch(org_id: int, networks: list[Network], ctx: ScoringContext, config: ScoringConfig,
                model: Any, model_version: str | None, weight: float) -> dict[str, int]:
    """Score these networks, update them and append their history rows (no commit)."""
    ids = [n.id for n in networks]
    makers: dict[int, int] = {}
    sightings = _sightings(org_id, ids, config.max_sightings, makers)
    tags = _tags(ids)
    now = utcnow()
    updates: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    levels: dict[str, int] = {}
    for network in networks:
        info = NetworkInfo(bssid=network.bssid, ssid=network.ssid, radio_type=network.type,
                           manufacturer=network.manufacturer, tags=tuple(tags[network.id]),
                           mfgr_id=makers.get(network.id))
        result = score_network(sightings[network.id], info, ctx, config)
        rule = result.score
        probability = None
        if model is not None:
            # The model's features are time-based (days, span) and it learns from timed sightings only.
            vector = ml.features(network, [s for s in sightings[network.id] if s.time_known], rule)
            probability = ml.probability(model, vector)
        combined = rule
        if probability is not None:
            # The blend happens before the tag overlay, so the overlay stays the last word:
            # a model never lifts a LEGIT network nor drops a THREAT below HIGH.
            combined, _ = apply_tags(blend(rule, probability, weight), tags[network.id], config)
        level = level_for(combined, config)
        factors = result.to_mapping()
        factors.update(score=combined, level=level, rule_score=rule, ml_probability=probability,
                       ml_weight=weight if probability is not None else None, model_version=model_version)
        levels[level] = levels.get(level, 0) + 1
        updates.append({"id": network.id, "threat_score_v2": round(combined, 1), "rule_score": rule,
                        "threat_factors": factors, "threat_level": level, "threat_updated_at": now,
                        "needs_rescore": False})
        history.append({"org_id": org_id, "network_id": network.id, "rule_score": rule,
                        "ml_score": probability, "ml_weight": weight if probability is not None else None,
                        "combined_score": combined, "threat_level": level, "calculated_at": now,
                        "model_version": model_version, "factors": factors})
    if updates:
        # By primary key, without re-evaluating the batch's objects in the session.
        db.session.execute(sa.update(Network).execution_options(synchronize_session=False), updates)
        db.session.execute(sa.insert(NetworkThreatScore), history)
    events.publish("wireless.networks_scored", org_id=org_id,  # the wireless alert rules
                   scored=[(n, u, tags[n.id]) for n, u in zip(networks, updates, strict=True)])
    return levels


def rescore(org_id: int, everything: bool = False,
            progress: Callable[[int, int], None] | None = None) -> RescoreResult:
    """Score the organization's dirty networks (or all of them), committing per batch."""
    config = scoring_config(org_id)
    ctx = scoring_context(org_id, config)
    model, model_version = _model(org_id)
    weight = org_settings.ml_weight(org_id)
    where = [Network.org_id == org_id]
    if not everything:
        where.append(Network.needs_rescore.is_(True))
    ids = db.session.scalars(sa.select(Network.id).where(*where).order_by(Network.id)).all()
    result = RescoreResult(levels={}, model_version=model_version)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        networks = db.session.scalars(sa.select(Network).where(Network.id.in_(chunk)).order_by(Network.id)).all()
        for level, n in score_batch(org_id, networks, ctx, config, model, model_version, weight).items():
            result.levels[level] = result.levels.get(level, 0) + n
        result.scored += len(networks)
        db.session.commit()
        # No expunge needed for flat memory: the session's identity map holds clean rows
        # weakly, so each batch is freed once `networks` is rebound.
        if progress:
            progress(result.scored, len(ids))
    return result


def has_dirty_networks() -> bool:
    """Whether any organization has networks waiting to be scored (the periodic job's gate)."""
    return db.session.scalar(sa.select(Network.id).where(Network.needs_rescore.is_(True)).limit(1)) is not None


def orgs_with_dirty_networks() -> list[int]:
    return list(db.session.scalars(sa.select(Network.org_id).where(Network.needs_rescore.is_(True)).distinct()))


def rescore_networks(org_id: int, networks: list[Network]) -> dict[str, int]:
    """Score a few networks now, with the organization's settings and active model (no commit)."""
    model, model_version = _model(org_id)
    config = scoring_config(org_id)
    levels = score_batch(org_id, networks, scoring_context(org_id, config), config, model,
                         model_version, org_settings.ml_weight(org_id))
    db.session.flush()
    for network in networks:
        db.session.refresh(network)
    return levels
