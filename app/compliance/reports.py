"""The compliance assessment report in the report framework: each framework's latest
assessment with its score, category scores and controls (the auditor pack's content);
the auditor pack PDF itself stays one click away on the assessment page."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.compliance import services
from app.compliance.frameworks import FRAMEWORKS
from app.models import ComplianceScoreSnapshot, db
from app.reports.registry import Period, ReportContent, Table, register_report
from app.reports.svg import bar_chart


def build(org_id: int, period: Period, params: dict[str, Any]) -> ReportContent:
    latest = services.latest_by_framework(org_id)
    assessments = Table(["Framework", "Version", "Status", "Score", "Not tested", "Started", "Completed"])
    categories = Table(["Framework", "Category", "Score", "Not tested"])
    controls = Table(["Framework", "Control", "Name", "Category", "Status", "Finding", "Remediation"])
    for key, a in sorted(latest.items()):
        label = FRAMEWORKS[key][0] if key in FRAMEWORKS else key
        assessments.rows.append([label, a.framework_version, a.status, a.overall_compliance_score,
                                 str(services.coverage(a)), a.assessment_date, a.completion_date])
        untested = services.category_coverage(a)
        categories.rows += [[label, cat, score, str(untested[cat])]
                            for cat, score in services.category_scores(a).items()]
        controls.rows += [[label, c.control_id, c.control_name, c.control_category, c.status,
                           c.scan_finding_type or "", c.remediation_notes or ""] for c in services.live_controls(a.id)]
    snapshots = Table(["When", "Assessment", "Score"], [
        [s.taken_at, s.assessment_id, s.score] for s in db.session.scalars(
            sa.select(ComplianceScoreSnapshot).where(
                ComplianceScoreSnapshot.org_id == org_id, ComplianceScoreSnapshot.taken_at >= period.start,
                ComplianceScoreSnapshot.taken_at < period.end).order_by(ComplianceScoreSnapshot.taken_at))])
    scored = [(r[0], r[3]) for r in assessments.rows if r[3] is not None]
    context = {"scores_svg": bar_chart(scored, title="Compliance score per framework") if scored else None,
               "failing": sum(1 for r in controls.rows if r[4] == "non_compliant"),
               "not_tested": sum(1 for r in controls.rows if r[4] == "not_tested")}
    return ReportContent("compliance.html", context, {"assessments": assessments, "category_scores": categories,
                                                      "controls": controls, "score_history": snapshots})


register_report("compliance", "Compliance assessment report", "compliance.view", build)
