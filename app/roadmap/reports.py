"""The roadmap progress report in the report framework: score against target, progress by
phase, the score's history in the period, open tasks and achievements."""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa

from app.models import RoadmapProgressHistory, db
from app.reports.registry import Period, ReportContent, Table, register_report
from app.reports.svg import line_chart
from app.roadmap import services

PHASES = {1: "This week", 2: "This month", 3: "This quarter", 4: "This year"}


def build(org_id: int, period: Period, params: dict[str, Any]) -> ReportContent:
    profile = services.profile_for(org_id)
    phases = Table(["Phase", "Tasks", "Completed", "In progress", "Not started"])
    open_tasks = Table(["Phase", "Task", "Category", "Risk", "Status", "Score impact"])
    history = Table(["Date", "Score", "Tasks completed", "Tasks total"])
    achievements = Table(["Achievement", "Unlocked"])
    context: dict[str, Any] = {"profile": profile, "score": None, "target": None, "trend_svg": None}
    if profile is not None:
        rows = services.tasks(profile)
        by_phase: dict[int, Counter] = {}
        for user_task, task in rows:
            by_phase.setdefault(user_task.phase, Counter())[user_task.status] += 1
            if user_task.status != "completed":
                open_tasks.rows.append([PHASES.get(user_task.phase, user_task.phase), task.task_name,
                                        task.task_category, task.risk_level, user_task.status,
                                        task.security_score_impact])
        phases.rows = [[PHASES.get(p, p), sum(c.values()), c["completed"], c["in_progress"], c["not_started"]]
                       for p, c in sorted(by_phase.items())]
        history.rows = [[h.snapshot_date, h.security_score, h.tasks_completed, h.tasks_total]
                        for h in db.session.scalars(sa.select(RoadmapProgressHistory).where(
                            RoadmapProgressHistory.profile_id == profile.id,
                            RoadmapProgressHistory.snapshot_date >= period.start,
                            RoadmapProgressHistory.snapshot_date < period.end)
                            .order_by(RoadmapProgressHistory.snapshot_date, RoadmapProgressHistory.id))]
        achievements.rows = [[a.achievement_id, a.unlocked_at] for a in services.unlocked(profile).values()]
        context.update(score=services.score(profile), target=profile.target_security_score,
                       done=sum(1 for u, _ in rows if u.status == "completed"), total=len(rows))
        if len(history.rows) > 1:
            context["trend_svg"] = line_chart({"Score": [r[1] for r in history.rows]},
                                              [str(r[0])[:10] for r in history.rows], title="Security score",
                                              y_max=100)
    return ReportContent("roadmap.html", context, {"phases": phases, "open_tasks": open_tasks,
                                                   "score_history": history, "achievements": achievements})


register_report("roadmap", "Roadmap progress report", "roadmap.view", build)
