"""A metric's value history: shared by the services (a value recorded by hand) and the live
queries (a value refreshed by the scheduler), so neither imports the other."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.models import Metric, MetricHistory, db, utcnow


def record_history(metric: Metric, value: Decimal, note: str | None, user: Any) -> MetricHistory:
    """Make `value` the metric's current value and keep it in its history (no audit: callers audit)."""
    metric.current_value = value
    metric.value_updated_at = utcnow()
    row = MetricHistory(org_id=metric.org_id, metric_id=metric.id, value=value, note=note,
                        recorded_by_id=getattr(user, "id", None))
    db.session.add(row)
    db.session.flush()
    return row
