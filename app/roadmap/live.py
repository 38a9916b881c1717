"""Roadmap progress as live metrics (registered on the live-value registry,
app/core/live_values.py)."""

from __future__ import annotations

from decimal import Decimal

from app.core.live_values import LiveQuery, register_live_query
from app.roadmap import services


def roadmap_score(org_id: int) -> Decimal | None:
    """The roadmap's score from completed tasks (None: no roadmap yet)."""
    profile = services.profile_for(org_id)
    return None if profile is None else Decimal(profile.current_security_score)


def roadmap_completed_pct(org_id: int) -> Decimal | None:
    """Share of roadmap tasks completed (None: no tasks)."""
    profile = services.profile_for(org_id)
    rows = [r for r, _ in services.tasks(profile)] if profile else []
    if not rows:
        return None
    done = sum(1 for r in rows if r.status == "completed")
    return (Decimal(done) * 100 / Decimal(len(rows))).quantize(Decimal("0.01"))


register_live_query("roadmap_score", LiveQuery("Security roadmap score", "points", "higher_is_better",
                                               roadmap_score))
register_live_query("roadmap_completed_pct", LiveQuery("Roadmap tasks completed", "%", "higher_is_better",
                                                       roadmap_completed_pct))
