"""Global search: metrics by number or name."""

from __future__ import annotations

import sqlalchemy as sa
from flask import url_for

from app.models import Metric, db
from app.search.registry import Hit, register_provider
from app.search.text import any_contains, rank


def search_metrics(org_id: int, term: str, limit: int) -> list[Hit]:
    rows = db.session.execute(
        sa.select(Metric.id, Metric.metric_number, Metric.name, Metric.current_value, Metric.unit)
        .where(Metric.org_id == org_id, Metric.deleted_at.is_(None),
               any_contains([Metric.name, Metric.metric_number], term))
        .order_by(rank(Metric.name, term), Metric.id).limit(limit)
    ).all()
    return [Hit(f"{row.metric_number} {row.name}", url_for("metrics.metric_detail", metric_id=row.id),
                "" if row.current_value is None else f"{row.current_value:g} {row.unit or ''}".strip())
            for row in rows]


register_provider("metrics", "Metrics", "data.read", search_metrics, order=50)
