"""The home page's wireless parts: networks scored HIGH or CRITICAL (radios that appear to
follow the user), their weekly trend, and the strongest followers in "needs attention now"."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import url_for

from app.dashboard.registry import (
    AttentionItem,
    PostureState,
    TimelineItem,
    Worst,
    register_attention,
    register_posture,
    register_timeline,
)
from app.models import Network, db, utcnow

FOLLOWER_LEVELS = ("CRITICAL", "HIGH")
SEVERITY = {"CRITICAL": "critical", "HIGH": "high"}


def _followers(org_id: int, limit: int) -> list:
    return db.session.execute(
        sa.select(Network.id, Network.ssid, Network.bssid, Network.threat_level, Network.threat_score_v2,
                  Network.threat_updated_at)
        .where(Network.org_id == org_id, Network.threat_level.in_(FOLLOWER_LEVELS))
        .order_by(Network.threat_score_v2.desc().nulls_last(), Network.id).limit(limit)).all()


def wireless_posture(org_id: int) -> PostureState | None:
    """Networks at HIGH or CRITICAL; the trend counts those (re)scored so in the last week."""
    week = utcnow() - timedelta(days=7)
    total, critical, recent = db.session.execute(sa.select(
        sa.func.count(Network.id), sa.func.count(Network.id).filter(Network.threat_level == "CRITICAL"),
        sa.func.count(Network.id).filter(Network.threat_updated_at >= week),
    ).where(Network.org_id == org_id, Network.threat_level.in_(FOLLOWER_LEVELS))).one()
    if not total and not db.session.scalar(sa.select(Network.id).where(Network.org_id == org_id).limit(1)):
        return None
    worst = _followers(org_id, 1)
    return PostureState(
        value=str(total), caption=f"networks at HIGH or CRITICAL ({critical} critical)",
        url=url_for("wireless.network_list"), trend=recent, higher_is_better=False,
        worst=Worst(f"{worst[0].ssid or worst[0].bssid} ({worst[0].threat_level})",
                    url_for("wireless.network_detail", network_id=worst[0].id)) if worst else None,
        status="bad" if critical else "warn" if total else "ok",
    )


def followers(org_id: int, limit: int) -> list[AttentionItem]:
    return [AttentionItem(SEVERITY[row.threat_level], f"Possible follower: {row.ssid or '(hidden)'} {row.bssid}",
                          url_for("wireless.network_detail", network_id=row.id), row.threat_updated_at,
                          f"threat score {row.threat_score_v2 if row.threat_score_v2 is not None else '—'}", "wireless")
            for row in _followers(org_id, limit)]


def newly_scored(org_id: int, limit: int) -> list[TimelineItem]:
    rows = db.session.execute(
        sa.select(Network.id, Network.ssid, Network.bssid, Network.threat_level, Network.threat_updated_at)
        .where(Network.org_id == org_id, Network.threat_level.in_(FOLLOWER_LEVELS),
               Network.threat_updated_at.is_not(None))
        .order_by(Network.threat_updated_at.desc()).limit(limit)).all()
    return [TimelineItem(row.threat_updated_at, f"{row.ssid or row.bssid} scored {row.threat_level}",
                         url_for("wireless.network_detail", network_id=row.id), "", "wireless") for row in rows]


register_posture("wireless", "Wireless", "data.read", wireless_posture, order=30)
register_attention("followers", "Possible followers", "data.read", followers, order=20)
register_timeline("wireless", "Wireless scoring", "data.read", newly_scored, order=40)
