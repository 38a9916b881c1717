"""Canary token hits as a place where addresses appear, for indicator matching and the
entity page (app/indicators/matching.py): a hit's source address is matched on ingest, and
the token page asks the same registry where else in Vigil the address appears."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import url_for

from app.indicators.matching import Occurrence, Place, canonical, register_place
from app.models import BaitAccess, BaitToken, db

FIND_LIMIT = 5000
PLACE = "bait_accesses"


def access_occurrences(access: BaitAccess) -> list[Occurrence]:
    value = canonical("ip", access.source_ip)
    if not value or access.request_type == "dns":  # a resolver's address, not the intruder's
        return []
    token = access.token or db.session.get(BaitToken, access.bait_id)
    label = f"canary token {token.name if token else access.bait_id} ({access.request_type})"
    return [Occurrence(access.org_id, "ip", value, str(access.id), label, access.accessed_at)]


def find_accesses(org_id: int, since: datetime, kind: str | None, value: str | None) -> list[Occurrence]:
    stmt = sa.select(BaitAccess).where(BaitAccess.org_id == org_id, BaitAccess.accessed_at >= since,
                                       BaitAccess.source_ip.is_not(None))
    if value is not None:
        stmt = stmt.where(BaitAccess.source_ip == value)
    rows = db.session.scalars(stmt.order_by(BaitAccess.accessed_at.desc()).limit(FIND_LIMIT))
    return [o for a in rows for o in access_occurrences(a)]


def link_access(object_id: str, value: str) -> str | None:
    access = db.session.get(BaitAccess, int(object_id))
    return url_for("bait.detail", token_id=access.bait_id) if access else None


register_place(Place(PLACE, "Canary token hits", ("ip",), "threats.view", find_accesses, link_access,
                     model=BaitAccess, extract=access_occurrences))
