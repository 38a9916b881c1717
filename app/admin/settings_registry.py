"""The platform settings an administrator may change at run time, and reading them.

Each known key has a type, a default and a description; a value is stored in the
`settings` table only once someone changes it, so `get_setting` falls back to the
default. Nothing reads these yet except through `get_setting` (auth still takes its
limits from the environment).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app import audit
from app.models import Setting, db, utcnow


@dataclass(frozen=True)
class SettingSpec:
    key: str
    kind: str  # "int" or "choice"
    default: Any
    description: str
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] | None = None
    unit: str | None = None

    def parse(self, raw: Any) -> Any:
        """The typed value of what was typed, or ValueError with a message for the form."""
        text = str(raw if raw is not None else "").strip()
        if self.kind == "int":
            try:
                value = int(text)
            except ValueError:
                raise ValueError("Enter a whole number.") from None
            if (self.minimum is not None and value < self.minimum) or (
                self.maximum is not None and value > self.maximum
            ):
                raise ValueError(f"Enter a number from {self.minimum} to {self.maximum}.")
            return value
        if self.kind == "choice":
            if text not in (self.choices or ()):
                raise ValueError(f"Choose one of: {', '.join(self.choices or ())}.")
            return text
        raise ValueError(f"unknown setting kind {self.kind!r}")

    @property
    def rule(self) -> str:
        """The allowed values, in words (shown next to the field)."""
        if self.kind == "int":
            unit = f" {self.unit}" if self.unit else ""
            return f"A whole number from {self.minimum} to {self.maximum}{unit}."
        return f"One of: {', '.join(self.choices or ())}."


def _int(key: str, default: int, low: int, high: int, description: str, unit: str | None = None) -> SettingSpec:
    return SettingSpec(key, "int", default, description, minimum=low, maximum=high, unit=unit)


# Defaults match app/config.py, so a stored value is only ever a deliberate change.
SETTINGS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in (
        _int("security.lockout_threshold", 5, 1, 50,
             "Failed sign-ins inside the window that lock an account."),
        _int("security.lockout_window_minutes", 15, 1, 1440,
             "How far back failed sign-ins are counted towards a lockout.", "minutes"),
        _int("security.lockout_minutes", 30, 1, 1440,
             "How long a locked account stays locked.", "minutes"),
        _int("security.session_hours", 12, 1, 720,
             "How long a sign-in lasts before the user must sign in again.", "hours"),
        SettingSpec("ui.default_theme", "choice", "auto",
                    "Colour theme for users who have not chosen one.", choices=("light", "dark", "auto")),
        _int("notifications.max_failures", 5, 1, 100,
             "Consecutive delivery failures after which a notification channel is disabled."),
        _int("fleet.online_minutes", 3, 1, 60,
             "A device counts as online while its last heartbeat is at most this old.", "minutes"),
        _int("fleet.rollup_retention_days", 90, 1, 3650,
             "5-minute metric rollups older than this are deleted.", "days"),
        _int("fleet.facts_keep", 30, 1, 1000,
             "Facts snapshots kept per device (the oldest beyond this are deleted).", "snapshots"),
        _int("fleet.critical_disk_percent", 90, 50, 100,
             "A filesystem this full or fuller is a critical disk on the fleet dashboard.", "%"),
        _int("fleet.feed_stale_hours", 48, 1, 720,
             "A scanner whose vulnerability feed is this old is flagged on the dashboard and scanner page.", "hours"),
        _int("fleet.heartbeat_retention_days", 14, 1, 365,
             "Raw heartbeats older than this are deleted (the 5-minute rollups keep the long view).", "days"),
        _int("fleet.scanner_stats_retention_days", 14, 1, 365,
             "Scanner stats rows older than this are deleted (each scanner's newest row is always kept).", "days"),
        _int("alerts.resolved_retention_days", 180, 1, 3650,
             "Resolved alerts older than this are deleted.", "days"),
        _int("wireless.wigle_soft_limit", 80, 1, 100000,
             "WiGLE lookups per organization in 24 hours after which only lookups a user asked "
             "for run (background enrichment waits).", "requests"),
        _int("wireless.wigle_hard_limit", 100, 1, 100000,
             "WiGLE lookups per organization in 24 hours after which no lookup runs.", "requests"),
        _int("wireless.geocode_cache_days", 90, 1, 3650,
             "How long a reverse-geocoding answer is reused before it is asked again.", "days"),
    )
}


def spec_for(key: str) -> SettingSpec | None:
    return SETTINGS.get(key)


def get_setting(key: str) -> Any:
    """The stored value of a known setting, or its default (KeyError for an unknown key).

    A stored value that no longer fits the type (edited by hand, or the rule tightened)
    gives the default rather than an invalid value.
    """
    spec = SETTINGS[key]
    row = db.session.get(Setting, key)
    if row is None:
        return spec.default
    try:
        return spec.parse(row.value)
    except ValueError:
        return spec.default


def stored_rows() -> dict[str, Setting]:
    return {row.key: row for row in db.session.scalars(sa.select(Setting).order_by(Setting.key))}


def save_setting(spec: SettingSpec, value: Any, actor: Any) -> bool:
    """Store a validated value with who changed it, and audit it. False: it was already in effect."""
    old = get_setting(spec.key)
    if value == old:
        return False
    row = db.session.get(Setting, spec.key)
    if row is None:
        row = Setting(key=spec.key)
        db.session.add(row)
    row.value = value
    row.description = spec.description
    row.updated_at = utcnow()
    row.updated_by_id = actor.id
    row.updated_by = actor.email
    db.session.flush()
    audit.record("setting.updated", resource_type="setting", resource_id=spec.key,
                 old={"value": old}, new={"value": value})
    return True
