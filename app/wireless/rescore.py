"""Rescoring: feed networks and their sightings to the ONE scorer (app/wireless/scoring.py),
blend in the active model, and store the result with its history row.

What changes a score sets `networks.needs_rescore` on exactly the networks it changes: an
import on the networks that got new sightings (importers/writer.py), a tag on its network
(scored at once, detail.py), a moved home on all of the organization's (places.py), changed
scoring settings on all of the organization's (`mark_dirty`). `rescore(org_id)` takes only
those, `rescore(org_id, everything=True)` takes all. Nothing on a page waits for it: the
explorer and map read the stored scores. Work goes in chunks of networks (keyset by id, at
most CHUNK networks or CHUNK_SIGHTINGS sightings): one query for their rows, one streamed
query for their sightings, one for their tags, the scorer in memory, one set-based write of
scores and history rows, and a commit per chunk so a long run holds no long transaction,
loses nothing finished and keeps memory flat in the organization's size.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

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

CHUNK = 1000  # networks per chunk: one round of queries, one write, one commit
CHUNK_SIGHTINGS = 200_000  # ... or fewer, once their sightings reach this many
STREAM = 20_000  # sightings fetched from the server at a time
BATCH = CHUNK  # the name the older benchmark reads
# What scoring and the alert rules read of a network (no stored factors: they are rewritten).
NETWORK_COLUMNS = (Network.id, Network.org_id, Network.bssid, Network.ssid, Network.type, Network.manufacturer,
                   Network.is_randomized_mac, Network.encryption, Network.lasttime_ms, Network.threat_updated_at,
                   Network.observation_count)
HIGH_LEVELS = ("HIGH", "CRITICAL")


@dataclass
class RescoreResult:
    scored: int = 0
    levels: dict[str, int] | None = None
    model_version: str | None = None
    # Seconds spent building the scoring context, loading sightings (and the networks'
    # rows and tags), scoring, and writing scores back: what the benchmark reports.
    timings: dict[str, float] | None = None


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


def _among(column: Any, ids: list[int]) -> Any:
    """`column IN ids`; on PostgreSQL as `= ANY(array)`: one parameter instead of one per id
    (a thousand placeholders cost the driver more to parse than the query costs to run)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.literal(list(ids), type_=postgresql.ARRAY(sa.Integer)))
    return column.in_(ids)


def _sightings(org_id: int, ids: list[int], limit: int,
               makers: dict[int, int] | None = None) -> dict[int, list[Sighting]]:
    """Each network's newest sightings; `makers` (when given) collects their manufacturer ids.

    One query for the whole chunk, streamed from the server in slices of STREAM rows, so
    memory holds at most `limit` sightings per network whatever a network has stored.
    """
    out: dict[int, list[Sighting]] = {i: [] for i in ids}
    makers = {} if makers is None else makers
    rows = db.session.execute(
        sa.select(Observation.network_id, Observation.time, Observation.lat, Observation.lon,
                  Observation.level, Observation.accuracy, Observation.ssid, Observation.time_unknown,
                  Observation.mfgrid)
        .where(Observation.org_id == org_id, _among(Observation.network_id, ids))
        .order_by(Observation.network_id, Observation.time.desc())
        .execution_options(yield_per=STREAM)
    )
    # A sighting without a clock fix (time_unknown) says where, not when: the scorer uses it
    # for places only. Newest first, so the cap keeps timed sightings before clockless ones.
    current, bucket, full = None, None, False
    for network_id, when, lat, lon, level, accuracy, ssid, unknown, mfgrid in rows:
        if network_id != current:
            current, bucket = network_id, out[network_id]
            full = len(bucket) >= limit
        if mfgrid and network_id not in makers:
            makers[network_id] = mfgrid  # the newest sighting's manufacturer id
        if not full:
            bucket.append(Sighting(when, lat, lon, level, accuracy, ssid or "", not unknown))
            full = len(bucket) >= limit
    return out


def _tags(ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in ids}
    for network_id, tag in db.session.execute(
        sa.select(NetworkTag.network_id, NetworkTag.tag)
        .where(_among(NetworkTag.network_id, ids), NetworkTag.removed_at.is_(None))
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


def _add(timings: dict[str, float] | None, key: str, since: float) -> float:
    now = time.perf_counter()
    if timings is not None:
        timings[key] = timings.get(key, 0.0) + now - since
    return now


def _store(org_id: int, updates: list[dict[str, Any]], history: list[dict[str, Any]]) -> None:
    """Write a chunk's scores and history rows. PostgreSQL: one set-based statement (the rows
    travel as one JSON document, UPDATE and INSERT read it); elsewhere an executemany of
    each (SQLite, embedded mode)."""
    if not updates:
        return
    if db.session.get_bind().dialect.name != "postgresql":
        # By primary key, without re-evaluating the batch's objects in the session.
        db.session.execute(sa.update(Network).execution_options(synchronize_session=False), updates)
        db.session.execute(sa.insert(NetworkThreatScore), history)
        return
    first = history[0]
    rows = [{"id": u["id"], "score": u["threat_score_v2"], "rule": h["rule_score"], "combined": h["combined_score"],
             "ml": h["ml_score"], "weight": h["ml_weight"], "level": u["threat_level"], "factors": u["threat_factors"]}
            for u, h in zip(updates, history, strict=True)]
    db.session.execute(_PG_STORE, {"rows": json.dumps(rows), "org": org_id, "now": first["calculated_at"],
                                   "model_version": first["model_version"]})


# Set-based write of one chunk: the scores arrive as one JSON array; one UPDATE of networks
# (by primary key, scoped to the organization) and one INSERT of their history rows.
_PG_STORE = sa.text("""
WITH v AS (
    SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb))
        AS v(id integer, score numeric, rule double precision, combined double precision, ml double precision,
             weight double precision, level varchar, factors jsonb)
), updated AS (
    UPDATE networks AS n
    SET threat_score_v2 = v.score, rule_score = v.rule, threat_factors = v.factors, threat_level = v.level,
        threat_updated_at = :now, needs_rescore = false
    FROM v WHERE n.id = v.id AND n.org_id = :org
)
INSERT INTO network_threat_scores (org_id, network_id, rule_score, ml_score, ml_weight, combined_score,
                                   threat_level, calculated_at, model_version, factors)
SELECT :org, v.id, v.rule, v.ml, v.weight, v.combined, v.level, :now, :model_version, v.factors FROM v
""")


def score_batch(org_id: int, networks: Sequence[Any], ctx: ScoringContext, config: ScoringConfig,
                model: Any, model_version: str | None, weight: float,
                timings: dict[str, float] | None = None) -> dict[str, int]:
    """Score these networks, update them and append their history rows (no commit).

    `networks` are Network rows or objects with their NETWORK_COLUMNS (id, bssid, ssid,
    type, manufacturer, ... and the previous scoring time the alert rules compare with).
    """
    mark = time.perf_counter()
    ids = [n.id for n in networks]
    makers: dict[int, int] = {}
    sightings = _sightings(org_id, ids, config.max_sightings, makers)
    tags = _tags(ids)
    mark = _add(timings, "load", mark)
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
        sightings[network.id] = []  # freed as soon as it is scored
    mark = _add(timings, "score", mark)
    _store(org_id, updates, history)
    mark = _add(timings, "write", mark)
    events.publish("wireless.networks_scored", org_id=org_id,  # the wireless alert rules
                   scored=[(n, u, tags[n.id]) for n, u in zip(networks, updates, strict=True)])
    _add(timings, "alerts", mark)
    return levels


def _chunks(org_id: int, everything: bool, limit: int) -> Iterator[list[Any]]:
    """The networks to score, CHUNK at a time by id (keyset), a chunk ending early once its
    stored sightings (each capped at `limit`, what the scorer reads) pass CHUNK_SIGHTINGS:
    memory follows the chunk, not the organization."""
    where = [Network.org_id == org_id]
    if not everything:
        where.append(Network.needs_rescore.is_(True))
    after = 0
    while True:
        rows = db.session.execute(sa.select(*NETWORK_COLUMNS).where(*where, Network.id > after)
                                  .order_by(Network.id).limit(CHUNK)).all()
        if not rows:
            return
        chunk, weight = [], 0
        for row in rows:
            if chunk and weight + min(row.observation_count or 0, limit) > CHUNK_SIGHTINGS:
                break
            chunk.append(row)
            weight += min(row.observation_count or 0, limit)
        after = chunk[-1].id
        yield chunk


def rescore(org_id: int, everything: bool = False,
            progress: Callable[[int, int], None] | None = None) -> RescoreResult:
    """Score the organization's dirty networks (or all of them), committing per chunk.

    Per chunk of networks: one query for their rows, one (streamed) for their sightings,
    one for their tags, the scorer in memory, one set-based write, the alert rules, a commit.
    """
    timings: dict[str, float] = {}
    mark = time.perf_counter()
    config = scoring_config(org_id)
    ctx = scoring_context(org_id, config)
    model, model_version = _model(org_id)
    weight = org_settings.ml_weight(org_id)
    where = [Network.org_id == org_id]
    if not everything:
        where.append(Network.needs_rescore.is_(True))
    total = db.session.scalar(sa.select(sa.func.count(Network.id)).where(*where)) or 0
    result = RescoreResult(levels={}, model_version=model_version, timings=timings)
    mark = _add(timings, "context", mark)
    chunks = _chunks(org_id, everything, config.max_sightings)
    while True:
        networks = next(chunks, None)
        mark = _add(timings, "load", mark)
        if networks is None:
            break
        for level, n in score_batch(org_id, networks, ctx, config, model, model_version, weight, timings).items():
            result.levels[level] = result.levels.get(level, 0) + n
        result.scored += len(networks)
        mark = time.perf_counter()
        db.session.commit()
        mark = _add(timings, "write", mark)
        if progress:
            progress(result.scored, max(total, result.scored))
    return result


def mark_dirty(org_id: int) -> int:
    """Mark all of the organization's networks for rescore (its scoring settings changed,
    which every score depends on), in one statement; returns how many (no commit)."""
    return db.session.execute(sa.update(Network).where(Network.org_id == org_id).values(needs_rescore=True)
                              .execution_options(synchronize_session=False)).rowcount


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
