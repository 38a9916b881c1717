"""The maintenance window form (the rules form is the Alerts page's: app/alerts/forms.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from app.alerting.maintenance import WEEKDAY_NAMES
from app.forms import options
from app.models.alerting import WINDOW_RECURRENCES


def _zone_errors(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file path
        return "Not a known time zone (for example UTC or Australia/Perth)."
    return None


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
