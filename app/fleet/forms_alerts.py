"""Forms of the alert pages: rules, maintenance windows, resolving and muting an alert."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FloatField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from app.alerting.engine import Thresholds
from app.alerting.maintenance import WEEKDAY_NAMES
from app.alerting.registry import DOMAIN_LABELS, RULE_TYPES
from app.forms import options
from app.models.alerting import ALERT_SEVERITIES, WINDOW_RECURRENCES

PERCENT_TYPES = ("cpu_high", "ram_high", "disk_full")


def split_names(text: str | None) -> list[str]:
    return sorted({n.strip() for n in (text or "").split(",") if n.strip()})


def _zone_errors(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file path
        return "Not a known time zone (for example UTC or Australia/Perth)."
    return None


class AlertRuleForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=255)])
    rule_type = SelectField("Rule type")
    scope = SelectField("Scope", default="organization")
    device_id = SelectField("Device", coerce=str, validators=[Optional()])
    severity = SelectField("Severity", choices=options((s, s) for s in ALERT_SEVERITIES), default="warning")
    threshold_value = FloatField("Threshold", validators=[Optional(), NumberRange(0, 1_000_000)])
    recovery_value = FloatField("Recovery threshold", validators=[Optional(), NumberRange(0, 1_000_000)])
    threshold_duration_seconds = IntegerField("For (seconds)", default=300, validators=[NumberRange(0, 86400)])
    cooldown_seconds = IntegerField("Cooldown (seconds)", default=3600, validators=[NumberRange(0, 604800)])
    repeat_interval_seconds = IntegerField("Repeat every (seconds)", validators=[Optional(), NumberRange(60, 604800)])
    names = StringField("Only these services or containers (comma separated)", validators=[Optional(), Length(max=1000)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])
    enabled = BooleanField("Enabled", default=True)
    notify = BooleanField("Notify (in-app and the organization's channels)", default=True)

    def __init__(self, *args, devices=(), allow_global=False, **kwargs):
        super().__init__(*args, **kwargs)
        # Every domain's rule types: one rules page tunes them all (the engine is shared).
        self.rule_type.choices = options((t.name, f"{DOMAIN_LABELS.get(t.domain, t.domain)}: {t.label}")
                                         for t in sorted(RULE_TYPES.values(), key=lambda t: (t.domain, t.label))
                                         if t.available)
        scopes = [("organization", "This organization"), ("device", "One device")]
        if allow_global:
            scopes.insert(0, ("global", "Every organization (global)"))
        self.scope.choices = options(scopes)
        self.device_id.choices = options([("", "Choose a device"), *((str(d.id), d.label) for d in devices)])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        rule_type = RULE_TYPES.get(self.rule_type.data)
        if rule_type is None:
            return False
        if self.scope.data == "device" and not self.device_id.data:
            self.device_id.errors = [*self.device_id.errors, "Choose the device this rule is for."]
            ok = False
        if self.scope.data == "device" and rule_type.target_type != "device":
            self.scope.errors = [*self.scope.errors, "Only rules about devices can be set for one device."]
            ok = False
        if rule_type.fixed:
            self.threshold_value.data, self.recovery_value.data = 1.0, 1.0
        elif self.threshold_value.data is None:
            self.threshold_value.errors = [*self.threshold_value.errors, "Enter the threshold."]
            return False
        if rule_type.name in PERCENT_TYPES:
            for f in (self.threshold_value, self.recovery_value):
                if f.data is not None and f.data > 100:
                    f.errors = [*f.errors, "A percentage from 0 to 100."]
                    ok = False
        problems = Thresholds(threshold=self.threshold_value.data, recovery=self.recovery_value.data,
                              for_seconds=self.threshold_duration_seconds.data or 0,
                              cooldown_seconds=self.cooldown_seconds.data or 0,
                              repeat_seconds=self.repeat_interval_seconds.data,
                              direction=rule_type.direction).problems()
        if "recovery" in problems:
            self.recovery_value.errors = [*self.recovery_value.errors, problems["recovery"]]
            ok = False
        return ok


class MaintenanceWindowForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=255)])
    reason = TextAreaField("Reason", validators=[Optional(), Length(max=2000)])
    scope = SelectField("Applies to", choices=options((("organization", "The whole organization"),
                                                       ("site", "One site"), ("device", "One device"))))
    site_id = SelectField("Site", coerce=str, validators=[Optional()])
    device_id = SelectField("Device", coerce=str, validators=[Optional()])
    recurrence = SelectField("Recurrence", choices=options((r, r) for r in WINDOW_RECURRENCES), default="once")
    timezone = StringField("Time zone", default="UTC", validators=[DataRequired(), Length(max=64)])
    starts_at = DateTimeLocalField("Starts (local time)", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    ends_at = DateTimeLocalField("Ends (local time)", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    weekdays = SelectMultipleField("Weekdays", coerce=int, choices=options(enumerate(WEEKDAY_NAMES)),
                                   validators=[Optional()])
    start_time = StringField("Starts at (HH:MM)", validators=[Optional(), Regexp(
        r"^([01]\d|2[0-3]):[0-5]\d$", message="A time as HH:MM, 00:00 to 23:59.")])
    cron = StringField("Cron (minute hour day month weekday)", validators=[Optional(), Length(max=100)])
    duration_minutes = IntegerField("Duration (minutes)", validators=[Optional(), NumberRange(1, 10080)])
    enabled = BooleanField("Enabled", default=True)

    def __init__(self, *args, sites=(), devices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.site_id.choices = options([("", "Choose a site"), *((str(s.id), s.name) for s in sites)])
        self.device_id.choices = options([("", "Choose a device"), *((str(d.id), d.label) for d in devices)])

    def _need(self, field, message: str) -> bool:
        field.errors = [*field.errors, message]
        return False

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.scope.data == "site" and not self.site_id.data:
            ok = self._need(self.site_id, "Choose the site.")
        if self.scope.data == "device" and not self.device_id.data:
            ok = self._need(self.device_id, "Choose the device.")
        problem = _zone_errors(self.timezone.data or "")
        if problem:
            return self._need(self.timezone, problem)
        if self.recurrence.data == "once":
            if not self.starts_at.data:
                ok = self._need(self.starts_at, "Enter when the window starts.")
            if not self.ends_at.data:
                ok = self._need(self.ends_at, "Enter when the window ends.")
            if self.starts_at.data and self.ends_at.data:
                if self.ends_at.data <= self.starts_at.data:
                    ok = self._need(self.ends_at, "The end is not after the start.")
                elif self.ends_at.data - self.starts_at.data > timedelta(days=31):
                    ok = self._need(self.ends_at, "A one-off window lasts at most 31 days.")
            return ok
        if not self.duration_minutes.data:
            ok = self._need(self.duration_minutes, "Enter how long each window lasts.")
        if self.recurrence.data == "weekly":
            if not self.weekdays.data:
                ok = self._need(self.weekdays, "Choose at least one weekday.")
            if not self.start_time.data:
                ok = self._need(self.start_time, "Enter the local start time.")
        elif not self.cron.data or not croniter.is_valid(self.cron.data) or len(self.cron.data.split()) != 5:
            ok = self._need(self.cron, "A five-field cron expression, for example '0 2 * * 0'.")
        return ok

    def utc(self, local: datetime | None) -> datetime | None:
        """A local time typed in the window's time zone, as UTC."""
        if local is None:
            return None
        return local.replace(tzinfo=ZoneInfo(self.timezone.data)).astimezone(ZoneInfo("UTC"))
