"""The task library: data/roadmap/tasks.json loaded into roadmap_tasks (global reference data)."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from app.models import RoadmapTask, RoadmapTaskLibraryMeta, db, utcnow

TASKS_FILE = Path(__file__).resolve().parents[2] / "data" / "roadmap" / "tasks.json"
COLUMNS = ("task_name", "task_category", "description", "why_it_matters", "how_to_fix", "estimated_time_minutes",
           "estimated_cost_min", "estimated_cost_max", "difficulty_level", "security_score_impact", "risk_level",
           "applies_to_industries", "applies_to_sizes", "requires_compliance", "documentation_url",
           "video_tutorial_url")


def read(path: Path = TASKS_FILE) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def load_library(path: Path = TASKS_FILE) -> int:
    """Insert or update every task of the file and record the library version; returns the task count."""
    data = read(path)
    existing = {t.task_id: t for t in db.session.scalars(sa.select(RoadmapTask))}
    for spec in data["tasks"]:
        task = existing.get(spec["task_id"]) or RoadmapTask(task_id=spec["task_id"])
        for column in COLUMNS:
            setattr(task, column, spec.get(column))
        task.is_active = True
        db.session.add(task)
    meta = db.session.scalar(sa.select(RoadmapTaskLibraryMeta).limit(1)) or RoadmapTaskLibraryMeta()
    meta.library_version, meta.total_tasks = data["library_version"], len(data["tasks"])
    meta.changelog, meta.last_updated = data.get("changelog"), utcnow()
    db.session.add(meta)
    db.session.flush()
    return len(data["tasks"])


def tags() -> dict[str, list[str]]:
    """task_id -> the file's tags ("essential", "pii", "payment", "health", "financial")."""
    return {t["task_id"]: t.get("tags", []) for t in read()["tasks"]}


def tasks_by_id() -> dict[str, RoadmapTask]:
    if db.session.scalar(sa.select(sa.func.count(RoadmapTask.id))) == 0:
        load_library()
    return {t.task_id: t for t in db.session.scalars(sa.select(RoadmapTask).where(RoadmapTask.is_active.is_(True)))}
