"""The metrics board scorecard as a report: the same rows as the CSV board pack
(app/metrics/report.py), laid out for a board with the overall score's trend."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.metrics.report import scorecard_rows
from app.models import FrameworkScore, db
from app.reports.registry import Period, ReportContent, Table, register_report
from app.reports.svg import line_chart


def build(org_id: int, period: Period, params: dict[str, Any]) -> ReportContent:
    rows = scorecard_rows(org_id)
    overall = rows[0]
    groups = Table(["Level", "Code", "Name", "Score", "Rating", "Scored metrics", "Below target"], [
        [r["level"], r["code"], r["name"], r["score"], r["rating"], r["scored_metrics"], r["below_target"]]
        for r in rows if r["level"] in ("function", "category")])
    metrics = Table(["Metric", "Name", "Score %", "Current", "Target", "Below target", "Source"], [
        [r["code"], r["name"], r["score"], r.get("current"), r.get("target"), r["below_target"], r["value_source"]]
        for r in rows if r["level"] == "metric"])
    history = list(db.session.scalars(sa.select(FrameworkScore).where(
        FrameworkScore.org_id == org_id, FrameworkScore.calculated_at < period.end)
        .order_by(FrameworkScore.calculated_at.desc()).limit(24)))[::-1]
    trend = (line_chart({"Overall": [float(h.overall_score) for h in history]},
                        [h.calculated_at.strftime("%Y-%m-%d") for h in history], title="Overall score", y_max=100)
             if history else None)
    return ReportContent("metrics.html", {"overall": overall, "trend_svg": trend},
                         {"functions_categories": groups, "metrics": metrics})


register_report("metrics_scorecard", "Security metrics board scorecard", "data.read", build)
