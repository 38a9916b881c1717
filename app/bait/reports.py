"""The canary-token activity report in the report framework: the tokens, their hits in the
period with attribution, and the sources that triggered them.

A token's sealed value and a hit's raw headers and body stay out: the report names what
was touched, when, from where and how sure the attribution is. So it needs `data.read`,
like the token pages that show the same to read-only users.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import sqlalchemy as sa

from app.indicators import geo
from app.models import BaitAccess, BaitToken, db
from app.reports.registry import Period, ReportContent, Table, register_report
from app.reports.svg import bar_chart


def build(org_id: int, period: Period, params: dict[str, Any]) -> ReportContent:
    tokens = Table(["Token", "Type", "Status", "Planted at", "Hits (all time)", "First hit", "Last hit"], [
        [t.name, t.bait_type, t.status, t.seeded_location, t.access_count, t.first_access, t.last_access]
        for t in db.session.scalars(sa.select(BaitToken).where(BaitToken.org_id == org_id,
                                                               BaitToken.deleted_at.is_(None))
                                    .order_by(BaitToken.name))])
    hits = db.session.execute(sa.select(BaitAccess, BaitToken.name).join(BaitToken, BaitToken.id == BaitAccess.bait_id)
                              .where(BaitAccess.org_id == org_id, BaitAccess.deleted_at.is_(None),
                                     BaitAccess.accessed_at >= period.start, BaitAccess.accessed_at < period.end)
                              .order_by(BaitAccess.accessed_at)).all()
    hit_table = Table(["When", "Token", "Source", "Location", "Threat", "Attribution", "Confidence %",
                       "Evidence", "Request"], [
        [h.accessed_at, name, h.source_ip, h.geolocation, h.threat_level, h.attribution_type,
         h.attribution_confidence, h.evidence_strength, h.request_type] for h, name in hits])
    per_source: dict[str, dict[str, Any]] = defaultdict(lambda: {"hits": 0, "tokens": set(), "last": None})
    for h, name in hits:
        entry = per_source[h.source_ip or "unknown"]
        entry["hits"] += 1
        entry["tokens"].add(name)
        entry["last"] = h.accessed_at
        entry["where"] = h.geolocation
    sources = Table(["Source", "Location", "Hits", "Tokens hit", "Last hit"], [
        [ip, e.get("where"), e["hits"], ", ".join(sorted(e["tokens"])), e["last"]]
        for ip, e in sorted(per_source.items(), key=lambda kv: -kv[1]["hits"])])
    attribution = Table(["Attribution", "Hits"], [
        [k, v] for k, v in Counter(h.attribution_type or "unattributed" for h, _ in hits).most_common()])
    context = {"hit_count": len(hits), "token_count": len(tokens.rows), "source_count": len(sources.rows),
               # DB-IP City Lite (CC BY 4.0) asks for its link where its locations are shown
               "geo_credit": bool(hits) and geo.city_in_use(),
               "sources_svg": bar_chart([(r[0], r[2]) for r in sources.rows[:20]], title="Hits by source")
               if sources.rows else None}
    return ReportContent("bait.html", context, {"tokens": tokens, "hits": hit_table, "attribution": attribution,
                                                "sources": sources})


register_report("bait", "Canary-token activity report", "data.read", build)
