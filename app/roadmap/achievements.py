"""The ten achievements, evaluated by ONE function on every change.

`evaluate(facts)` is pure: it takes what the roadmap knows (`Facts`) and answers which
achievements are earned. An unlocked achievement stays unlocked (it records a moment).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

# id -> (name, description, icon, requirement type, requirement value)
ACHIEVEMENTS: dict[str, tuple[str, str, str, str, int]] = {
    "first_steps": ("First steps", "Complete your first task", "flag", "tasks_completed", 1),
    "quick_wins": ("Quick wins", "Complete 5 tasks", "lightning", "tasks_completed", 5),
    "halfway_hero": ("Halfway hero", "Reach a security score of 50", "speedometer", "score", 50),
    "security_champion": ("Security champion", "Reach a security score of 75", "award", "score", 75),
    "perfect_score": ("Perfect score", "Reach a security score of 100", "stars", "score", 100),
    "phase_one_complete": ("Phase one complete", "Complete every 'this week' task", "check2-all", "phase", 1),
    "mfa_master": ("MFA master", "MFA enforced and every active user enrolled", "shield-lock", "mfa", 100),
    "scan_verified": ("Scan verified", "A later scan confirmed a fixed finding", "patch-check", "verified", 1),
    "week_streak": ("Week streak", "Complete a task on 7 consecutive days", "calendar-check", "streak_days", 7),
    "critical_crusher": ("Critical crusher", "Complete every critical task", "hammer", "critical", 1),
}


@dataclass(frozen=True)
class Facts:
    score: int
    completed: int
    phase1_total: int
    phase1_completed: int
    critical_total: int
    critical_completed: int
    mfa_task_completed: bool
    users_without_mfa: int
    verified: int
    completion_times: tuple[datetime, ...]
    timezone: str = "UTC"


def longest_streak(times: tuple[datetime, ...], timezone: str) -> int:
    """The longest run of consecutive local calendar days with at least one completion."""
    zone = ZoneInfo(timezone)
    days: list[date] = sorted({t.astimezone(zone).date() for t in times})
    best = run = 0
    previous: date | None = None
    for day in days:
        run = run + 1 if previous is not None and day - previous == timedelta(days=1) else 1
        best = max(best, run)
        previous = day
    return best


def evaluate(f: Facts) -> set[str]:
    """Every achievement the facts earn."""
    earned = set()
    if f.completed >= 1:
        earned.add("first_steps")
    if f.completed >= 5:
        earned.add("quick_wins")
    for key, threshold in (("halfway_hero", 50), ("security_champion", 75), ("perfect_score", 100)):
        if f.score >= threshold:
            earned.add(key)
    if f.phase1_total and f.phase1_completed == f.phase1_total:
        earned.add("phase_one_complete")
    if f.mfa_task_completed and f.users_without_mfa == 0:
        earned.add("mfa_master")
    if f.verified >= 1:
        earned.add("scan_verified")
    if longest_streak(f.completion_times, f.timezone) >= 7:
        earned.add("week_streak")
    if f.critical_total and f.critical_completed == f.critical_total:
        earned.add("critical_crusher")
    return earned
