"""Global search: the organization's roadmap tasks by name."""

from __future__ import annotations

import sqlalchemy as sa
from flask import url_for

from app.models import RoadmapTask, RoadmapUserTask, db
from app.search.registry import Hit, register_provider
from app.search.text import any_contains, rank


def search_tasks(org_id: int, term: str, limit: int) -> list[Hit]:
    rows = db.session.execute(
        sa.select(RoadmapUserTask.id, RoadmapTask.task_name, RoadmapUserTask.status, RoadmapUserTask.phase)
        .join(RoadmapTask, RoadmapTask.task_id == RoadmapUserTask.task_id)
        .where(RoadmapUserTask.org_id == org_id, RoadmapUserTask.deleted_at.is_(None),
               any_contains([RoadmapTask.task_name], term))
        .order_by(rank(RoadmapTask.task_name, term), RoadmapUserTask.id).limit(limit)).all()
    return [Hit(row.task_name, url_for("roadmap.task_detail", task_id=row.id), f"phase {row.phase}, {row.status}")
            for row in rows]


register_provider("roadmap_tasks", "Roadmap tasks", "roadmap.view", search_tasks, order=61)
