"""Forms of the device's Commands and Backups tabs."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.fleet import backups
from app.fleet.commands import BACKUP_TYPES, TIER_PERMISSION, TIERS
from app.forms import options
from app.models.fleet_ops import BACKUP_MODES, FULL_DISK_METHODS
from app.permissions import can


def allowed_types(user) -> list[tuple[str, str]]:
    """The command types the user's role may send, labelled with their tier."""
    return [(kind, f"{kind.replace('_', ' ')} ({tier})") for tier, kinds in TIERS.items()
            if can(TIER_PERMISSION[tier], user) for kind in kinds if kind not in BACKUP_TYPES]


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
    repository = StringField("restic repository", validators=[Optional(), Length(max=2000)])
    backup_paths = TextAreaField("Paths to back up (one a line)", validators=[Optional(), Length(max=50_000)])
    exclude_patterns = TextAreaField("Exclude patterns (one a line)", validators=[Optional(), Length(max=50_000)])
    repository_password = PasswordField("Repository password (blank keeps the stored one)",
                                        validators=[Optional(), Length(max=500)])
    s3_access_key_id = StringField("S3 access key id", validators=[Optional(), Length(max=200)])
    s3_secret_key = PasswordField("S3 secret key (blank keeps the stored one)", validators=[Optional(), Length(max=500)])

    def process(self, formdata=None, obj=None, data=None, **kwargs):
        """Lists are edited as one item a line."""
        data = dict(data or {})
        for name in ("backup_paths", "exclude_patterns"):
            if isinstance(data.get(name), list):
                data[name] = "\n".join(data[name])
        super().process(formdata, obj, data=data, **kwargs)

    def secrets(self) -> dict:
        return {"repository_password": self.repository_password.data or None,
                "s3_secret_key": self.s3_secret_key.data or None}

    def values(self) -> dict:
        def lines(text):
            return [line.strip() for line in (text or "").splitlines() if line.strip()]

        return {name: getattr(self, name).data for name in backups.CONFIG_FIELDS} | {
            "repository": (self.repository.data or "").strip() or None,
            "s3_access_key_id": (self.s3_access_key_id.data or "").strip() or None,
            "backup_paths": lines(self.backup_paths.data), "exclude_patterns": lines(self.exclude_patterns.data),
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
