"""Maintenance windows: when is one open, and which window covers a target now.

A window is one-off (starts_at..ends_at), weekly (weekdays at a local start time for a
number of minutes) or cron (a five-field crontab of local start times plus a duration),
in its own time zone, so "Sunday 02:00 Australia/Perth" stays 02:00 across DST changes.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from croniter import croniter

from app.models import MaintenanceWindow, db

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file path
        return ZoneInfo("UTC")


def parse_hhmm(text: str | None) -> time | None:
    try:
        hours, minutes = (int(p) for p in (text or "").split(":"))
        return time(hours, minutes)
    except ValueError:
        return None


def is_open(window: MaintenanceWindow, t: datetime) -> bool:
    """Whether the window covers instant `t` (timezone-aware)."""
    if not window.enabled:
        return False
    if window.recurrence == "once":
        return bool(window.starts_at and window.ends_at and window.starts_at <= t < window.ends_at)
    duration = timedelta(minutes=window.duration_minutes or 0)
    if duration <= timedelta(0):
        return False
    tz = zone(window.timezone)
    local = t.astimezone(tz)
    if window.recurrence == "weekly":
        at = parse_hhmm(window.start_time)
        if at is None:
            return False
        # A window may have started on an earlier day and still be running.
        for back in range(0, duration.days + 2):
            day = local.date() - timedelta(days=back)
            if day.weekday() not in (window.weekdays or []):
                continue
            start = datetime.combine(day, at, tzinfo=tz)
            if start <= local < start + duration:
                return True
        return False
    if window.recurrence == "cron" and window.cron and croniter.is_valid(window.cron):
        # get_prev is strictly before its base: step one second on so a start at `t` counts.
        start = croniter(window.cron, local + timedelta(seconds=1)).get_prev(datetime)
        return start <= local < start + duration
    return False


def describe(window: MaintenanceWindow) -> str:
    """The window's schedule in words, for the pages and the alert note."""
    if window.recurrence == "once":
        return f"{window.starts_at:%Y-%m-%d %H:%M} to {window.ends_at:%Y-%m-%d %H:%M} UTC"
    length = f"for {window.duration_minutes} min ({window.timezone})"
    if window.recurrence == "weekly":
        days = ", ".join(WEEKDAY_NAMES[d] for d in sorted(window.weekdays or []))
        return f"every {days} at {window.start_time} {length}"
    return f"cron '{window.cron}' {length}"


def open_window(org_id: int, t: datetime, *, site_id: int | None = None,
                device_id: int | None = None) -> MaintenanceWindow | None:
    """The first enabled window of the organization covering this site or device at `t`."""
    scope = [sa.and_(MaintenanceWindow.site_id.is_(None), MaintenanceWindow.device_id.is_(None))]
    if site_id is not None:
        scope.append(MaintenanceWindow.site_id == site_id)
    if device_id is not None:
        scope.append(MaintenanceWindow.device_id == device_id)
    rows = db.session.scalars(sa.select(MaintenanceWindow).where(
        MaintenanceWindow.org_id == org_id, MaintenanceWindow.enabled.is_(True), sa.or_(*scope))
        .order_by(MaintenanceWindow.id))
    return next((w for w in rows if is_open(w, t)), None)
