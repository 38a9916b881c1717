"""Roadmap rules: the profile, task status changes, the score (from completed tasks, capped
at 100, recomputed on every change), progress snapshots and achievement unlocking."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app import audit
from app.models import (
    NotificationPolicy,
    Organization,
    RoadmapAchievement,
    RoadmapProfile,
    RoadmapProgressHistory,
    RoadmapTask,
    RoadmapUserTask,
    User,
    db,
    utcnow,
)
from app.models.roadmap import TASK_STATUSES
from app.roadmap import achievements, generate, library

PROFILE_FIELDS = ("company_name", "company_size", "industry", "employee_count", "target_security_score",
                  "handles_pii", "handles_payment_data", "handles_health_data", "handles_financial_data",
                  "current_measures", "compliance_requirements")


class RoadmapError(ValueError):
    """A change the rules refuse (answered 422)."""


def profile_for(org_id: int) -> RoadmapProfile | None:
    return db.session.scalar(sa.select(RoadmapProfile).where(RoadmapProfile.org_id == org_id,
                                                             RoadmapProfile.deleted_at.is_(None)))


def save_profile(org_id: int, values: dict[str, Any], user_id: int | None) -> RoadmapProfile:
    """Create or update the organization's profile, then (re)generate its roadmap."""
    profile = profile_for(org_id)
    old = {k: getattr(profile, k) for k in PROFILE_FIELDS} if profile else {}
    if profile is None:
        org = db.session.get(Organization, org_id)
        profile = RoadmapProfile(org_id=org_id, user_id=user_id, company_name=org.name if org else "")
        db.session.add(profile)
    for key in PROFILE_FIELDS:
        if key in values:
            setattr(profile, key, values[key])
    db.session.flush()
    audit.record("roadmap.profile_saved", resource_type="roadmap_profile", resource_id=profile.id, org_id=org_id,
                 old=audit.jsonable(old) or None, new=audit.jsonable({k: getattr(profile, k) for k in PROFILE_FIELDS}))
    regenerate(profile)
    return profile


def regenerate(profile: RoadmapProfile) -> dict[str, int]:
    result = generate.generate(profile)
    changed(profile, "generated")
    return result


def tasks(profile: RoadmapProfile) -> list[Any]:
    """The profile's tasks with their library entries, by phase and order."""
    return list(db.session.execute(sa.select(RoadmapUserTask, RoadmapTask).join(
        RoadmapTask, RoadmapTask.task_id == RoadmapUserTask.task_id).where(
        RoadmapUserTask.profile_id == profile.id, RoadmapUserTask.deleted_at.is_(None))
        .order_by(RoadmapUserTask.phase, RoadmapUserTask.priority_order, RoadmapUserTask.id)).all())


def score(profile: RoadmapProfile) -> int:
    """Sum of the impact of each distinct completed library task, capped at 100."""
    done = db.session.scalars(sa.select(RoadmapTask.security_score_impact).where(
        RoadmapTask.task_id.in_(sa.select(RoadmapUserTask.task_id).where(
            RoadmapUserTask.profile_id == profile.id, RoadmapUserTask.deleted_at.is_(None),
            RoadmapUserTask.status == "completed")))).all()
    return min(100, sum(v or 0 for v in done))


def set_status(row: RoadmapUserTask, status: str) -> None:
    """Move a task; completing stamps completed_at, reopening clears it; the score follows."""
    if status not in TASK_STATUSES:
        raise RoadmapError("Unknown status.")
    old = row.status
    if old == status:
        return
    row.status = status
    now = utcnow()
    if status == "in_progress" and row.started_at is None:
        row.started_at = now
    row.completed_at = now if status == "completed" else None
    audit.record("roadmap.task_status", resource_type="roadmap_user_task", resource_id=row.id, org_id=row.org_id,
                 old={"status": old}, new={"status": status})
    profile = db.session.get(RoadmapProfile, row.profile_id)
    changed(profile, "task_completed" if status == "completed" else "task_reopened" if old == "completed"
            else "task_updated")


def changed(profile: RoadmapProfile, reason: str) -> None:
    """After any change: recompute the score, snapshot progress and unlock achievements."""
    db.session.flush()
    profile.current_security_score = score(profile)
    rows = [r for r, _ in tasks(profile)]
    phase_done = {p: sum(1 for r in rows if r.phase == p and r.status == "completed") for p in (1, 2, 3, 4)}
    db.session.add(RoadmapProgressHistory(
        org_id=profile.org_id, profile_id=profile.id, security_score=profile.current_security_score,
        tasks_completed=sum(phase_done.values()), tasks_total=len(rows), phase1_completed=phase_done[1],
        phase2_completed=phase_done[2], phase3_completed=phase_done[3], phase4_completed=phase_done[4],
        snapshot_reason=reason))
    unlock(profile)
    db.session.flush()


def facts(profile: RoadmapProfile) -> achievements.Facts:
    pairs = tasks(profile)
    completed = [r for r, _ in pairs if r.status == "completed"]
    phase1 = [r for r, _ in pairs if r.phase == 1]
    critical = [r for r, t in pairs if t.risk_level == "critical" or r.finding_severity == "critical"]
    no_mfa = db.session.scalar(sa.select(sa.func.count(User.id)).where(
        User.org_id == profile.org_id, User.status == "active", User.deleted_at.is_(None),
        User.mfa_enabled.is_not(True))) or 0
    tz = db.session.scalar(sa.select(NotificationPolicy.timezone).where(
        NotificationPolicy.org_id == profile.org_id)) or "UTC"
    return achievements.Facts(
        score=profile.current_security_score, completed=len(completed), phase1_total=len(phase1),
        phase1_completed=sum(1 for r in phase1 if r.status == "completed"), critical_total=len(critical),
        critical_completed=sum(1 for r in critical if r.status == "completed"),
        mfa_task_completed=any(r.task_id == "enable_mfa" for r in completed), users_without_mfa=no_mfa,
        verified=sum(1 for r, _ in pairs if r.verified_at is not None),
        completion_times=tuple(r.completed_at for r in completed if r.completed_at), timezone=tz)


def unlock(profile: RoadmapProfile) -> list[str]:
    """Store newly earned achievements (evaluated by the one function); returns their ids."""
    have = set(db.session.scalars(sa.select(RoadmapAchievement.achievement_id).where(
        RoadmapAchievement.profile_id == profile.id)))
    new = sorted(achievements.evaluate(facts(profile)) - have)
    for key in new:
        name, description, icon, kind, value = achievements.ACHIEVEMENTS[key]
        db.session.add(RoadmapAchievement(org_id=profile.org_id, profile_id=profile.id, achievement_id=key,
                                          achievement_name=name, achievement_description=description,
                                          achievement_icon=icon, requirement_type=kind, requirement_value=value))
        audit.record("roadmap.achievement_unlocked", resource_type="roadmap_profile", resource_id=profile.id,
                     org_id=profile.org_id, details={"achievement": key})
    return new


def unlocked(profile: RoadmapProfile) -> dict[str, RoadmapAchievement]:
    return {a.achievement_id: a for a in db.session.scalars(sa.select(RoadmapAchievement).where(
        RoadmapAchievement.profile_id == profile.id))}


def history(profile: RoadmapProfile) -> list[RoadmapProgressHistory]:
    return list(db.session.scalars(sa.select(RoadmapProgressHistory).where(
        RoadmapProgressHistory.profile_id == profile.id).order_by(RoadmapProgressHistory.snapshot_date,
                                                                  RoadmapProgressHistory.id)))


def load_library() -> int:
    return library.load_library()


def update_task(row: RoadmapUserTask, assignee_id: int | None, notes: str | None) -> None:
    """Assign a task (to a user of its organization) and keep the team's notes."""
    if assignee_id is not None and db.session.scalar(sa.select(User.id).where(
            User.id == assignee_id, User.org_id == row.org_id, User.deleted_at.is_(None))) is None:
        raise RoadmapError("The assignee is not a user of this organization.")
    old = {"assigned_to_user_id": row.assigned_to_user_id, "user_notes": row.user_notes}
    row.assigned_to_user_id, row.user_notes = assignee_id, notes
    audit.record("roadmap.task_updated", resource_type="roadmap_user_task", resource_id=row.id, org_id=row.org_id,
                 old=old, new={"assigned_to_user_id": assignee_id, "user_notes": notes})


def org_users(org_id: int) -> list[tuple[int, str]]:
    return [(u.id, u.email) for u in db.session.scalars(sa.select(User).where(
        User.org_id == org_id, User.deleted_at.is_(None)).order_by(User.email))]
