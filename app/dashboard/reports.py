"""The executive monthly report: the organization at a glance for its owner.

CSF 2.0 scores and their trend, each domain's state (the home page's posture tiles, from
app.dashboard.registry: every domain that registers a tile appears), top risks, alerts
opened and closed, incidents with their times to acknowledge and resolve.
"""

from __future__ import annotations

from collections import Counter
from contextlib import nullcontext
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_request_context

from app.dashboard.registry import POSTURE, ordered
from app.models import Alert, FrameworkScore, SecurityIncident, db
from app.permissions import PERMISSIONS
from app.reports.registry import Period, ReportContent, Table, register_report
from app.reports.svg import bar_chart, line_chart

REPORT_PERMISSION = "data.read"
STATE_WORDS = {"ok": "clear", "warn": "watch", "bad": "attention"}
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
INCIDENT_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def _hours(seconds: int | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 1)


def _score_trend(org_id: int, period: Period) -> tuple[list[str], dict[str, list[float | None]], dict[str, Any]]:
    """The last score of each of the 12 months up to the period's end, overall and per function."""
    since = period.end - timedelta(days=366)
    rows = db.session.scalars(sa.select(FrameworkScore).where(
        FrameworkScore.org_id == org_id, FrameworkScore.calculated_at >= since,
        FrameworkScore.calculated_at < period.end).order_by(FrameworkScore.calculated_at))
    by_month: dict[str, FrameworkScore] = {}
    for row in rows:
        by_month[row.calculated_at.strftime("%Y-%m")] = row  # the month's last snapshot wins
    labels = sorted(by_month)
    functions = sorted({code for row in by_month.values() for code in (row.function_scores or {})})
    series: dict[str, list[float | None]] = {"Overall": [float(by_month[m].overall_score) for m in labels]}
    for code in functions:
        series[code] = [_float((by_month[m].function_scores or {}).get(code)) for m in labels]
    latest = by_month[labels[-1]] if labels else None
    return labels, series, {"latest": latest}


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def posture_table(org_id: int) -> Table:
    """Each registered posture tile as a row. The report is one file for everyone holding its
    permission, so a tile whose own permission is narrower shows its state only."""
    readers = PERMISSIONS[REPORT_PERMISSION]
    rows = []
    # Tiles build their links with url_for; a report job has no request to build them from.
    context = nullcontext() if has_request_context() else current_app.test_request_context("/")
    with context:
        for reg in ordered(POSTURE):
            state = reg.func(org_id)
            if state is None:
                rows.append([reg.label, "no data", "", "", "", ""])
            elif not readers <= PERMISSIONS[reg.permission]:
                rows.append([reg.label, STATE_WORDS.get(state.status, state.status), "", "", "",
                             f"details need {reg.permission}"])
            else:
                rows.append([reg.label, STATE_WORDS.get(state.status, state.status), state.value, state.caption,
                             "" if state.trend is None else f"{state.trend:+g} over {state.trend_window}",
                             state.worst.label if state.worst else ""])
    return Table(["Domain", "State", "Value", "Measure", "Trend", "Worst item"], rows)


def build(org_id: int, period: Period, params: dict[str, Any]) -> ReportContent:
    labels, series, scores = _score_trend(org_id, period)
    latest = scores["latest"]
    functions = Table(["Function", "Score"], [[code, vals[-1]] for code, vals in series.items() if code != "Overall"])

    opened = list(db.session.scalars(sa.select(Alert).where(
        Alert.org_id == org_id, Alert.fired_at >= period.start, Alert.fired_at < period.end)))
    closed = db.session.scalar(sa.select(sa.func.count(Alert.id)).where(
        Alert.org_id == org_id, Alert.resolved_at >= period.start, Alert.resolved_at < period.end)) or 0
    still_open = list(db.session.scalars(sa.select(Alert).where(
        Alert.org_id == org_id, Alert.status != "resolved")))
    domains = sorted({a.domain for a in opened} | {a.domain for a in still_open})
    opened_by = Counter(a.domain for a in opened)
    domain_state = posture_table(org_id)

    incidents = list(db.session.scalars(sa.select(SecurityIncident).where(
        SecurityIncident.org_id == org_id, SecurityIncident.created_at >= period.start,
        SecurityIncident.created_at < period.end).order_by(SecurityIncident.created_at)))
    incident_table = Table(["Opened", "Title", "Severity", "Status", "Hours to acknowledge", "Hours to resolve"], [
        [i.created_at.strftime("%Y-%m-%d"), i.title, i.severity, i.status, _hours(i.time_to_acknowledge),
         _hours(i.time_to_resolve)] for i in incidents])
    tta = [i.time_to_acknowledge for i in incidents if i.time_to_acknowledge is not None]
    ttr = [i.time_to_resolve for i in incidents if i.time_to_resolve is not None]

    open_incidents = list(db.session.scalars(sa.select(SecurityIncident).where(
        SecurityIncident.org_id == org_id, SecurityIncident.status.notin_(("resolved", "closed")))))
    risks = sorted(
        [("incident", i.severity, i.title, INCIDENT_RANK.get(i.severity, 9)) for i in open_incidents]
        + [(f"{a.domain} alert", a.severity, a.message, SEVERITY_RANK.get(a.severity, 9) + 0.5) for a in still_open],
        key=lambda r: r[3])[:10]
    top_risks = Table(["Kind", "Severity", "Risk"], [[k, s, t] for k, s, t, _ in risks])

    context = {
        "overall": float(latest.overall_score) if latest else None,
        "rating": latest.overall_rating if latest else None,
        "trend_svg": line_chart(series, labels, title="CSF score trend", y_max=100) if labels else None,
        "alert_svg": bar_chart([(d, opened_by[d]) for d in domains], title="Alerts opened by domain") if domains else None,
        "alerts_opened": len(opened), "alerts_closed": closed,
        "mean_tta_hours": _hours(sum(tta) // len(tta)) if tta else None,
        "mean_ttr_hours": _hours(sum(ttr) // len(ttr)) if ttr else None,
    }
    tables = {"csf_functions": functions, "domain_state": domain_state, "top_risks": top_risks,
              "incidents": incident_table,
              "alerts_opened": Table(["Fired", "Domain", "Severity", "Alert", "Status"], [
                  [a.fired_at.strftime("%Y-%m-%d %H:%M"), a.domain, a.severity, a.message, a.status] for a in opened])}
    return ReportContent("executive.html", context, tables)


register_report("executive", "Executive monthly report", REPORT_PERMISSION, build)
