"""The home page's metrics parts: the CSF score tile (from score snapshots only) and the
metrics below target in "needs attention now"."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import url_for

from app.dashboard.registry import (
    AttentionItem,
    PostureState,
    Worst,
    register_attention,
    register_org_column,
    register_posture,
)
from app.metrics import scoring
from app.models import FrameworkScore, Metric, db, utcnow

TREND_DAYS = 7


def csf_posture(org_id: int) -> PostureState | None:
    """The newest overall CSF score, its change over a week, and the weakest function."""
    newest = db.session.scalar(sa.select(FrameworkScore).where(FrameworkScore.org_id == org_id)
                               .order_by(FrameworkScore.calculated_at.desc(), FrameworkScore.id.desc()).limit(1))
    if newest is None:
        return None
    before = db.session.scalar(
        sa.select(FrameworkScore.overall_score).where(
            FrameworkScore.org_id == org_id, FrameworkScore.calculated_at <= utcnow() - timedelta(days=TREND_DAYS))
        .order_by(FrameworkScore.calculated_at.desc(), FrameworkScore.id.desc()).limit(1))
    score = float(newest.overall_score)
    worst = None
    if newest.function_scores:
        code, value = min(newest.function_scores.items(), key=lambda kv: kv[1])
        worst = Worst(f"{code} {value:.0f}", url_for("metrics.function_detail", code=code))
    return PostureState(
        value=f"{score:.1f}", caption=f"CSF score · {newest.overall_rating}", url=url_for("metrics.index"),
        trend=None if before is None else round(score - float(before), 1), worst=worst,
        status="ok" if score >= 75 else "warn" if score >= 50 else "bad",
    )


def metrics_below_target(org_id: int, limit: int) -> list[AttentionItem]:
    """Metrics whose value scores under the below-target line, the furthest below first."""
    rows = db.session.execute(
        sa.select(Metric.id, Metric.metric_number, Metric.name, Metric.direction, Metric.current_value,
                  Metric.target_value, Metric.target_lower, Metric.target_upper, Metric.priority,
                  Metric.value_updated_at)
        .where(Metric.org_id == org_id, Metric.deleted_at.is_(None), Metric.current_value.is_not(None))
    ).all()
    scored = []
    for row in rows:
        score = scoring.metric_score(row.direction, row.current_value, row.target_value, row.target_lower,
                                     row.target_upper)
        if scoring.is_below_target(score):
            scored.append((score, row))
    scored.sort(key=lambda pair: pair[0])
    return [AttentionItem("high" if row.priority in ("Critical", "High") else "medium",
                          f"{row.metric_number} {row.name} below target", url_for("metrics.metric_detail", metric_id=row.id),
                          row.value_updated_at, f"scores {score * 100:.0f}% of target", "metrics")
            for score, row in scored[:limit]]


register_posture("csf", "Cybersecurity framework", "data.read", csf_posture, order=10)
register_attention("metrics_below_target", "Metrics below target", "data.read", metrics_below_target, order=60)


def csf_by_org() -> dict[int, float]:
    """Each organization's newest overall CSF score."""
    newest = (sa.select(FrameworkScore.org_id, sa.func.max(FrameworkScore.calculated_at).label("at"))
              .group_by(FrameworkScore.org_id).subquery())
    rows = db.session.execute(
        sa.select(FrameworkScore.org_id, sa.func.max(FrameworkScore.overall_score))
        .join(newest, sa.and_(newest.c.org_id == FrameworkScore.org_id, newest.c.at == FrameworkScore.calculated_at))
        .group_by(FrameworkScore.org_id)).all()
    return {org_id: float(score) for org_id, score in rows}


register_org_column("csf", "CSF score", csf_by_org, order=10)
