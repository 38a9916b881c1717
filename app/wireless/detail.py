"""What the network page shows and the analyst's changes to a network: tags (with their
history), markdown notes (rendered sanitized), and the score explanation read back from the
stored factor breakdown (the scorer itself is app/wireless/scoring.py).

A tag change marks the network for rescore and rescores it at once through the rescoring
service, so the page shows the overlay (FALSE_POSITIVE -> 0, THREAT >= HIGH) right away.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import nh3
import sqlalchemy as sa
from markdown_it import MarkdownIt

from app import audit
from app.models import User, db, utcnow
from app.models.wireless import (
    TAGS,
    Network,
    NetworkMedia,
    NetworkNote,
    NetworkTag,
    NetworkThreatScore,
    Observation,
    SsidHistory,
)
from app.wireless import reference, rescore
from app.wireless.scenario import wifi_channel
from app.wireless.scoring import ScoringConfig, blend

THREAT_TAGS = ("THREAT", "SUSPECT")
MAP_POINTS = 2000  # sightings sent to the page's map (the newest)
HISTORY_ROWS = 50
# Markdown: no raw HTML from the author at all, and the output passes nh3 (ammonia) anyway,
# so a bug in either layer alone cannot let a script through.
_MD = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")
ALLOWED_TAGS = {"p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
                "h1", "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td"}


class TagError(ValueError):
    """A tag request that cannot be done (the message is for the user)."""


def sanitize_html(html: str) -> str:
    """Keep only the allow-listed tags, links with http(s)/mailto, no attributes but href/title."""
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}},
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")


def render_markdown(text: str) -> str:
    """A note as safe HTML: markdown without raw HTML, then the allow-list sanitizer."""
    return sanitize_html(_MD.render(text or ""))


# ---------------------------------------------------------------- tags


def active_tags(network_id: int) -> list[NetworkTag]:
    return list(db.session.scalars(sa.select(NetworkTag).where(NetworkTag.network_id == network_id,
                                                             NetworkTag.removed_at.is_(None))
                                   .order_by(NetworkTag.tagged_at, NetworkTag.id)))


def tag_history(network_id: int) -> list[NetworkTag]:
    return list(db.session.scalars(sa.select(NetworkTag).where(NetworkTag.network_id == network_id)
                                   .order_by(NetworkTag.tagged_at.desc(), NetworkTag.id.desc())))


def _rescore_now(network: Network) -> None:
    """Score this one network now (the page shows the overlay at once)."""
    network.needs_rescore = True
    db.session.flush()
    rescore.rescore_networks(network.org_id, [network])


def add_tag(network: Network, tag: str, confidence: float | None, notes: str | None, actor: User) -> NetworkTag:
    """Tag a network (re-tagging with the same tag replaces the active one, keeping history)."""
    tag = (tag or "").upper()
    if tag not in TAGS:
        raise TagError(f"Unknown tag {tag!r}; choose one of {', '.join(TAGS)}.")
    if confidence is not None and not 0 <= confidence <= 1:
        raise TagError("Confidence must be from 0 to 1.")
    now = utcnow()
    replaced = [t for t in active_tags(network.id) if t.tag == tag]
    for old in replaced:
        old.removed_at, old.removed_by_id = now, actor.id
    row = NetworkTag(org_id=network.org_id, network_id=network.id, tag=tag, is_threat=tag in THREAT_TAGS,
                     confidence=confidence, notes=(notes or "").strip() or None, tagged_by_id=actor.id, tagged_at=now)
    db.session.add(row)
    db.session.flush()
    before = network.threat_level
    _rescore_now(network)
    audit.record("wireless.network_tagged", resource_type="network", resource_id=network.id,
                 new={"tag": tag, "confidence": confidence},
                 details={"tag_id": row.id, "replaced": [t.id for t in replaced],
                          "level_before": before, "level_after": network.threat_level})
    return row


def remove_tag(network: Network, tag_row: NetworkTag, actor: User) -> None:
    """Stamp a tag as removed (the row stays: it is the history) and rescore."""
    if tag_row.network_id != network.id:
        raise TagError("That tag belongs to another network.")
    if tag_row.removed_at is not None:
        raise TagError("That tag was already removed.")
    tag_row.removed_at, tag_row.removed_by_id = utcnow(), actor.id
    db.session.flush()
    before = network.threat_level
    _rescore_now(network)
    audit.record("wireless.network_untagged", resource_type="network", resource_id=network.id,
                 old={"tag": tag_row.tag}, details={"tag_id": tag_row.id, "level_before": before,
                                                    "level_after": network.threat_level})


# ---------------------------------------------------------------- notes


def add_note(network: Network, text: str, actor: User) -> NetworkNote:
    note = NetworkNote(org_id=network.org_id, network_id=network.id, note=text, created_by_id=actor.id)
    db.session.add(note)
    db.session.flush()
    audit.record("wireless.note_added", resource_type="network_note", resource_id=note.id,
                 details={"network_id": network.id, "length": len(text)})
    return note


def list_notes(network_id: int) -> list[NetworkNote]:
    return list(db.session.scalars(sa.select(NetworkNote).where(NetworkNote.network_id == network_id)
                                   .order_by(NetworkNote.created_at.desc(), NetworkNote.id.desc())))


def list_media(network_id: int) -> list[NetworkMedia]:
    return list(db.session.scalars(sa.select(NetworkMedia).where(NetworkMedia.network_id == network_id)
                                   .order_by(NetworkMedia.uploaded_at.desc(), NetworkMedia.id.desc())))


def delete_note(note: NetworkNote) -> None:
    audit.record("wireless.note_deleted", resource_type="network_note", resource_id=note.id,
                 old={"note": note.note[:500]}, details={"network_id": note.network_id})
    db.session.delete(note)
    db.session.flush()


# ---------------------------------------------------------------- the page


def score_view(network: Network) -> dict[str, Any]:
    """The stored breakdown, shaped for the page: factors, the ML blend and the tag overlay."""
    stored = network.threat_factors or {}
    factors = list(stored.get("factors") or [])
    overlay = next((f for f in factors if f.get("code") == "tag_overlay"), None)
    scored = [f for f in factors if f.get("code") != "tag_overlay"]
    rule = stored.get("rule_score")
    probability = stored.get("ml_probability")
    config = rescore.scoring_config(network.org_id)
    weight = stored.get("ml_weight")
    blended = blend(rule, probability, weight) if rule is not None and probability is not None and weight is not None else None
    return {
        "blended": blended,
        "stored": bool(stored), "factors": scored, "overlay": overlay,
        "rule_score": rule, "rule_before_overlay": round(sum(f.get("points") or 0 for f in scored), 1), "score": stored.get("score"), "level": stored.get("level") or network.threat_level,
        "ml_probability": probability, "ml_weight": stored.get("ml_weight"), "model_version": stored.get("model_version"),
        "version": stored.get("version"), "thresholds": _thresholds(config),
    }


def _thresholds(config: ScoringConfig) -> list[tuple[str, float]]:
    return [("CRITICAL", config.level_critical), ("HIGH", config.level_high), ("MEDIUM", config.level_medium),
            ("LOW", config.level_low)]


def score_history(network_id: int) -> list[NetworkThreatScore]:
    return list(db.session.scalars(sa.select(NetworkThreatScore).where(NetworkThreatScore.network_id == network_id)
                                   .order_by(NetworkThreatScore.calculated_at.desc(), NetworkThreatScore.id.desc())
                                   .limit(HISTORY_ROWS)))


def sightings(network: Network) -> tuple[list[dict[str, Any]], dict[str, Any], int]:
    """(newest sightings for the map, per-day counts for the timeline chart, total count)."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Observation)
                              .where(Observation.network_id == network.id)) or 0
    rows = db.session.execute(
        sa.select(Observation.time, Observation.lat, Observation.lon, Observation.level, Observation.accuracy)
        .where(Observation.network_id == network.id).order_by(Observation.time.desc()).limit(MAP_POINTS)
    ).all()
    points = [{"t": t.isoformat(), "lat": lat, "lon": lon, "level": level, "acc": acc}
              for t, lat, lon, level, acc in rows]
    day = sa.func.date(Observation.time)
    # A sighting without a clock fix (time_unknown) has no day: it counts in the total only.
    per_day = db.session.execute(sa.select(day, sa.func.count()).where(Observation.network_id == network.id,
                                                                       Observation.time_unknown.is_(False))
                                 .group_by(day).order_by(day)).all()
    counts = Counter({str(d): n for d, n in per_day})
    timeline = {"labels": list(counts), "series": {"sightings": list(counts.values())}}
    return points, timeline, total


def ssid_history(network_id: int) -> list[SsidHistory]:
    return list(db.session.scalars(sa.select(SsidHistory).where(SsidHistory.network_id == network_id)
                                   .order_by(SsidHistory.last_seen.desc())))


def identity(network: Network) -> dict[str, Any]:
    """Manufacturer (from the OUI registry), randomized-MAC flag and channel of a network."""
    is_mac = reference.mac_hex(network.bssid) is not None and not network.is_cellular
    randomized = is_mac and (network.is_randomized_mac or reference.is_locally_administered(network.bssid))
    registry = reference.manufacturer_for(network.bssid) if is_mac else None
    return {"is_mac": is_mac, "randomized": randomized, "registry": registry,
            "oui": reference.mac_hex(network.bssid)[:6] if is_mac else None,
            "channel": wifi_channel(network.frequency) if network.type == "W" and network.frequency else None}


def users_by_id(ids: set[int | None]) -> dict[int, User]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(wanted)))}
