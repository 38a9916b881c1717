"""Global search: canary tokens by name, identifier or trigger."""

from __future__ import annotations

import sqlalchemy as sa
from flask import url_for

from app.models import BaitToken, db
from app.search.registry import Hit, register_provider
from app.search.text import any_contains, rank


def search_tokens(org_id: int, term: str, limit: int) -> list[Hit]:
    rows = db.session.execute(
        sa.select(BaitToken.id, BaitToken.name, BaitToken.bait_type, BaitToken.status, BaitToken.access_count)
        .where(BaitToken.org_id == org_id, BaitToken.deleted_at.is_(None),
               any_contains([BaitToken.name, BaitToken.identifier, BaitToken.trigger], term))
        .order_by(rank(BaitToken.name, term), BaitToken.id).limit(limit)
    ).all()
    return [Hit(row.name, url_for("bait.detail", token_id=row.id),
                f"{row.bait_type} · {row.status} · {row.access_count} hit(s)") for row in rows]


register_provider("bait_tokens", "Canary tokens", "data.read", search_tokens, order=60)
