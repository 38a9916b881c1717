"""Global search: wireless networks by BSSID or SSID."""

from __future__ import annotations

import sqlalchemy as sa
from flask import url_for

from app.models import Network, db
from app.search.registry import Hit, register_provider
from app.search.text import any_contains, rank


def search_networks(org_id: int, term: str, limit: int) -> list[Hit]:
    rows = db.session.execute(
        sa.select(Network.id, Network.bssid, Network.ssid, Network.threat_level)
        .where(Network.org_id == org_id, any_contains([Network.bssid, Network.ssid], term))
        .order_by(rank(Network.ssid, term), Network.id).limit(limit)
    ).all()
    return [Hit(row.ssid or "(hidden network)", url_for("wireless.network_detail", network_id=row.id),
                " · ".join(x for x in (row.bssid, row.threat_level) if x)) for row in rows]


register_provider("networks", "Wireless networks", "data.read", search_networks, order=30)
