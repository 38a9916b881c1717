"""Forms of the device's Commands and Backups tabs."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.fleet import backups
from app.fleet.commands import TIER_PERMISSION, TIERS
from app.forms import options
from app.models.fleet_ops import BACKUP_MODES, FULL_DISK_METHODS
from app.permissions import can


def allowed_types(user) -> list[tuple[str, str]]:
    """The command types the user's role may send, labelled with their tier."""
    return [(kind, f"{kind.replace('_', ' ')} ({tier})") for tier, kinds in TIERS.items()
            if can(TIER_PERMISSION[tier], user) for kind in kinds]


class CommandForm(FlaskForm):
    command_type = SelectField("Command", validators=[InputRequired()])
    hostname = StringField("New hostname (change hostname)", validators=[Optional(), Length(max=63)])
    services = StringField("Services, comma separated (restart services)", validators=[Optional(), Length(max=2000)])

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.command_type.choices = options(allowed_types(user))

    def payload(self) -> dict:
        kind = self.command_type.data
        if kind == "change_hostname":
            return {"hostname": self.hostname.data or ""}
        if kind == "restart_services":
            return {"services": [s.strip() for s in (self.services.data or "").split(",") if s.strip()]}
        return {}


class BackupConfigForm(FlaskForm):
    enabled = BooleanField("Backups on")
    backup_mode = SelectField("Mode", choices=options((m, m.replace("_", " ")) for m in BACKUP_MODES))
    schedule_cron = StringField("Schedule (cron: minute hour day month weekday)", validators=[Length(max=100)])
    timezone = StringField("Time zone", default="UTC", validators=[Length(max=50)])
    retention_count = IntegerField("Keep last", default=7, validators=[InputRequired(), NumberRange(1, 1000)])
    keep_daily = IntegerField("Keep daily", default=7, validators=[InputRequired(), NumberRange(0, 1000)])
    keep_weekly = IntegerField("Keep weekly", default=4, validators=[InputRequired(), NumberRange(0, 1000)])
    keep_monthly = IntegerField("Keep monthly", default=6, validators=[InputRequired(), NumberRange(0, 1000)])
    full_disk_method = SelectField("Full-disk method", coerce=str,
                                   choices=options([("", "none"), *((m, m.replace("_", " ")) for m in FULL_DISK_METHODS)]))
    require_reboot = BooleanField("Needs a reboot (recovery USB)", default=True)
    storage_target = StringField("Storage target", default="default", validators=[Length(max=100)])

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in backups.CONFIG_FIELDS} | {
            "full_disk_method": self.full_disk_method.data or None,
            "schedule_cron": (self.schedule_cron.data or "").strip() or None,
            "timezone": (self.timezone.data or "").strip()}

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if not ok:
            return False
        for name, message in backups.config_errors(self.values()).items():
            getattr(self, name).errors = [*getattr(self, name).errors, message]
        return not any(f.errors for f in self)


class RestoreTestForm(FlaskForm):
    outcome = SelectField("Restore test", choices=options([("passed", "restored and checked"), ("failed", "failed")]))
    note = TextAreaField("Note", validators=[Optional(), Length(max=2000)])
