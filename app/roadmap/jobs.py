"""Roadmap jobs: regenerate every roadmap so finding-sourced tasks are added and verified."""

from __future__ import annotations

import sqlalchemy as sa

from app.jobs import job
from app.models import RoadmapProfile, db
from app.roadmap import services


def has_profiles() -> bool:
    """Cheap check for the scheduler."""
    return db.session.scalar(sa.select(RoadmapProfile.id).where(RoadmapProfile.deleted_at.is_(None)).limit(1)) \
        is not None


@job("roadmap.regenerate_all", title="Regenerate security roadmaps from current findings", queue="low", timeout=1800)
def regenerate_all(ctx, **_params) -> dict:
    """Regenerate each organization's roadmap (one organization per transaction)."""
    profiles = db.session.scalars(sa.select(RoadmapProfile.id).where(RoadmapProfile.deleted_at.is_(None))).all()
    added = verified = 0
    for profile_id in profiles:
        result = services.regenerate(db.session.get(RoadmapProfile, profile_id))
        db.session.commit()
        added, verified = added + result["added"], verified + result["verified"]
    return {"message": f"{added} task(s) added, {verified} verified", "added": added, "verified": verified}
