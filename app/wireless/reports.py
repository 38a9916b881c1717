"""The wireless surveillance report: one network (subject = its BSSID) or the whole organization.

Score with every factor, a sightings timeline and a map drawn as SVG from the stored
positions with home marked.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa

from app.models import LocationMarker, Network, Observation, db
from app.reports.registry import Period, ReportContent, Table, register_report
from app.reports.svg import bar_chart, point_map
from app.wireless.detail import score_view

MAP_POINTS = 2000  # a denser map adds bytes to the PDF, not information


def _home(org_id: int) -> tuple[float, float] | None:
    home = db.session.scalar(sa.select(LocationMarker).where(LocationMarker.org_id == org_id,
                                                             LocationMarker.is_home.is_(True)).limit(1))
    return (home.lat, home.lon) if home else None


def _observations(org_id: int, period: Period, network_id: int | None) -> sa.Select:
    stmt = sa.select(Observation.time, Observation.lat, Observation.lon, Observation.bssid, Observation.level).where(
        Observation.org_id == org_id, Observation.time >= period.start, Observation.time < period.end)
    return stmt.where(Observation.network_id == network_id) if network_id is not None else stmt


def build(org_id: int, period: Period, params: dict[str, Any]) -> ReportContent:
    subject = (params.get("subject") or "").strip()
    network = None
    if subject:
        network = db.session.scalar(sa.select(Network).where(Network.org_id == org_id,
                                                             sa.func.lower(Network.bssid) == subject.lower()))
    network_id = network.id if network else None
    rows = db.session.execute(_observations(org_id, period, network_id).order_by(Observation.time)
                              .limit(50000)).all()
    per_day = Counter(r.time.strftime("%Y-%m-%d") for r in rows)
    step = max(1, len(rows) // MAP_POINTS)
    points = [(r.lat, r.lon) for r in rows[::step] if r.lat or r.lon]

    factors = Table(["Factor", "Points", "Explanation"])
    score = None
    if network is not None:
        view = score_view(network)
        score = {"score": view["score"], "level": view["level"], "rule": view["rule_score"]}
        factors.rows = [[f.get("code"), f.get("points"), f.get("explanation")] for f in view["factors"]]
    top = Table(["BSSID", "SSID", "Level", "Score", "Sightings"], [
        [n.bssid, n.ssid, n.threat_level, float(n.threat_score_v2) if n.threat_score_v2 is not None else None,
         n.observation_count]
        for n in db.session.scalars(sa.select(Network).where(Network.org_id == org_id,
                                                             Network.threat_score_v2.is_not(None))
                                    .order_by(Network.threat_score_v2.desc()).limit(25))])
    sightings = Table(["Time", "BSSID", "Latitude", "Longitude", "Signal"],
                      [[r.time, r.bssid, round(r.lat, 5), round(r.lon, 5), r.level] for r in rows])
    context = {
        "network": network, "subject": subject, "score": score, "sighting_count": len(rows),
        "timeline_svg": bar_chart(sorted(per_day.items()), title="Sightings per day") if per_day else None,
        "map_svg": point_map(points, home=_home(org_id), title="Where it was seen"),
    }
    return ReportContent("wireless.html", context,
                         {"factors": factors, "top_networks": top, "sightings": sightings})


register_report("wireless", "Wireless surveillance report", "data.read", build, subject_label="BSSID")
