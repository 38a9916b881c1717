""""Possibly the same device" (issue 20.2): short-lived addresses of one tracker kind that each
moved with the person, on different days, never at the same time.

A Find My tag away from its owner takes a new address about daily, a SmartTag every 15
minutes, so a WiGLE file shows one tag as several networks. They are linked here for the
network page only, with the reasons; their rows, scores and tags stay apart (an analyst
may tag each one).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from app.models import db
from app.models.wireless import Network, Observation
from app.wireless import trackers
from app.wireless.alert_rules import follow_points

WINDOW_MS = 14 * 86_400_000  # AirGuard's relevance window
MAX_LINKS = 10
BLUETOOTH = ("B", "E")


def maker_id(network_id: int) -> int | None:
    """The manufacturer id on the network's sightings (the newest that has one)."""
    return db.session.scalar(sa.select(Observation.mfgrid).where(
        Observation.network_id == network_id, Observation.mfgrid > 0).order_by(Observation.time_ms.desc()).limit(1))


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def possibly_same_device(network: Network) -> list[dict[str, Any]]:
    """Other addresses that may be this tracker, each with its reasons (empty when none or not a tracker)."""
    if network.type not in BLUETOOTH or follow_points(network.threat_factors) <= 0:
        return []
    kind = trackers.kind_for(maker_id(network.id))
    if kind is None:
        return []
    same_maker = sa.select(Observation.id).where(Observation.network_id == Network.id,
                                                 Observation.mfgrid == kind.company_id)
    candidates = db.session.scalars(sa.select(Network).where(
        Network.org_id == network.org_id, Network.id != network.id, Network.type.in_(BLUETOOTH),
        # never at the same time: one ends before the other starts, within the window
        sa.or_(sa.and_(Network.lasttime_ms < network.firsttime_ms,
                       Network.lasttime_ms >= network.firsttime_ms - WINDOW_MS),
               sa.and_(Network.firsttime_ms > network.lasttime_ms,
                       Network.firsttime_ms <= network.lasttime_ms + WINDOW_MS)),
        same_maker.exists()).order_by(Network.firsttime_ms).limit(MAX_LINKS * 3)).all()
    out = []
    for other in candidates:
        if follow_points(other.threat_factors) <= 0 or _day(other.firsttime_ms) == _day(network.firsttime_ms):
            continue  # it must have moved with the person too, and on another day
        before = other.lasttime_ms < network.firsttime_ms
        gap_h = ((network.firsttime_ms - other.lasttime_ms) if before else (other.firsttime_ms - network.lasttime_ms)) / 3.6e6
        reasons = [f"the same kind of tracker: {kind.maker} {kind.kind} (manufacturer id 0x{kind.company_id:04X}), "
                   f"whose address changes {kind.rotation}",
                   f"never seen at the same time: it was last seen {gap_h:.1f} h before this one was first seen"
                   if before else f"never seen at the same time: first seen {gap_h:.1f} h after this one was last seen",
                   f"both moved with you: this one from {_day(network.firsttime_ms)}, that one from "
                   f"{_day(other.firsttime_ms)}"]
        if trackers.random_address(network.bssid) and trackers.random_address(other.bssid):
            reasons.append("both use random static addresses, as rotating tags do")
        out.append({"network": other, "reasons": reasons, "level": other.threat_level})
        if len(out) >= MAX_LINKS:
            break
    return out
