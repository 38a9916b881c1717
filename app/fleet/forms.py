"""Forms of the fleet pages."""

from __future__ import annotations

import ipaddress
import re

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from app.forms import options
from app.models.fleet import (
    BILLING_CYCLES,
    BILLING_TYPES,
    DEVICE_TYPES,
    ENVIRONMENTS,
    SUBSCRIPTION_STATUSES,
)


def split_tags(text: str | None) -> list[str]:
    return sorted({t.strip().lower() for t in (text or "").split(",") if t.strip()})


class DeviceForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=255)])
    device_type = SelectField("Type", choices=options((t, t) for t in DEVICE_TYPES))
    site_id = SelectField("Site", coerce=str, validators=[Optional()])
    environment = SelectField("Environment", choices=options((e, e) for e in ENVIRONMENTS), default="production")
    tags = StringField("Tags (comma separated)", validators=[Optional(), Length(max=500)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])

    def __init__(self, *args, sites=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.site_id.choices = options([("", "No site"), *((str(s.id), s.name) for s in sites)])

    def validate_tags(self, field: StringField) -> None:
        if any(len(t) > 50 for t in split_tags(field.data)):
            raise ValidationError("Each tag at most 50 characters.")


class SubscriptionForm(FlaskForm):
    plan_name = StringField("Plan", validators=[DataRequired(), Length(max=100)])
    plan_tier = StringField("Tier", validators=[Optional(), Length(max=50)])
    billing_cycle = SelectField("Billing cycle", choices=options((c, c) for c in BILLING_CYCLES), default="monthly")
    price_cents = IntegerField("Price (cents)", validators=[Optional(), NumberRange(0, 100_000_000)])
    currency = StringField("Currency", default="AUD",
                           validators=[DataRequired(), Regexp(r"^[A-Z]{3}$", message="Three capital letters (ISO 4217).")])
    status = SelectField("Status", choices=options((s, s.replace("_", " ")) for s in SUBSCRIPTION_STATUSES),
                         default="active")
    start_date = DateField("Start date", validators=[DataRequired()])
    end_date = DateField("End date", validators=[Optional()])
    next_payment_date = DateField("Next payment", validators=[Optional()])
    max_devices = IntegerField("Max devices", validators=[Optional(), NumberRange(0, 100_000)])
    max_scans_per_month = IntegerField("Max scans per month", validators=[Optional(), NumberRange(0, 10_000_000)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])

    def validate_end_date(self, field: DateField) -> None:
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError("The end date is before the start date.")


MODULES = ("monitoring", "backups", "commands", "scanner", "security_events")
MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
FIELD_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,50}$")
EDITABLE_STATUSES = ("active", "suspended", "decommissioned")


def parse_custom_fields(text: str | None) -> dict[str, str]:
    """`key = value` lines (a key at most once) as a dict; ValueError with the line at fault."""
    out: dict[str, str] = {}
    for n, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not FIELD_KEY.match(key):
            raise ValueError(f"Line {n}: write key = value (key: letters, digits, _ . -, at most 50).")
        if key in out:
            raise ValueError(f"Line {n}: {key} appears twice.")
        if len(value) > 500:
            raise ValueError(f"Line {n}: the value is longer than 500 characters.")
        out[key] = value
    if len(out) > 50:
        raise ValueError("At most 50 custom fields.")
    return out


def _ip(form, field) -> None:
    if field.data:
        try:
            ipaddress.ip_address(field.data.strip())
        except ValueError:
            raise ValidationError("An IPv4 or IPv6 address.") from None


class DeviceEditForm(FlaskForm):
    """Every inventory column an operator maintains by hand (the agent fills the rest on enrolment)."""

    device_name = StringField("Name", validators=[DataRequired(), Length(max=255)])
    hostname = StringField("Hostname", validators=[DataRequired(), Length(max=255),
                                                   Regexp(r"^[A-Za-z0-9][A-Za-z0-9.-]*$", message="Letters, digits, dots and hyphens.")])
    device_type = SelectField("Type", choices=options((t, t) for t in DEVICE_TYPES))
    site_id = SelectField("Site", coerce=str, validators=[Optional()])
    subscription_id = SelectField("Subscription", coerce=str, validators=[Optional()])
    billing_type = SelectField("Billing", choices=options((b, b) for b in BILLING_TYPES))
    environment = SelectField("Environment", choices=options((e, e) for e in ENVIRONMENTS))
    status = SelectField("Status", choices=options((s, s) for s in EDITABLE_STATUSES))
    heartbeat_interval = IntegerField("Heartbeat interval (s)", validators=[DataRequired(), NumberRange(15, 3600)])
    manufacturer = StringField("Manufacturer", validators=[Optional(), Length(max=255)])
    model = StringField("Model", validators=[Optional(), Length(max=255)])
    serial_number = StringField("Serial number", validators=[Optional(), Length(max=255)])
    cpu_model = StringField("CPU model", validators=[Optional(), Length(max=255)])
    cpu_cores = IntegerField("CPU cores", validators=[Optional(), NumberRange(1, 4096)])
    ram_mb = IntegerField("Memory (MB)", validators=[Optional(), NumberRange(1, 1 << 24)])
    disk_gb = IntegerField("Disk (GB)", validators=[Optional(), NumberRange(1, 1 << 20)])
    os_type = StringField("OS", validators=[Optional(), Length(max=50)])
    os_version = StringField("OS version", validators=[Optional(), Length(max=100)])
    kernel_version = StringField("Kernel", validators=[Optional(), Length(max=100)])
    local_ip = StringField("Local IP", validators=[Optional(), Length(max=45), _ip])
    public_ip = StringField("Public IP", validators=[Optional(), Length(max=45), _ip])
    mac_addresses = StringField("MAC addresses (comma separated)", validators=[Optional(), Length(max=2000)])
    modules_enabled = SelectMultipleField("Modules", choices=options((m, m.replace("_", " ")) for m in MODULES),
                                          validators=[Optional()])
    tags = StringField("Tags (comma separated)", validators=[Optional(), Length(max=500)])
    custom_fields = TextAreaField("Custom fields (one key = value a line)", validators=[Optional(), Length(max=30000)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])

    def __init__(self, *args, sites=(), subscriptions=(), current_status: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.site_id.choices = options([("", "No site"), *((str(s.id), s.name) for s in sites)])
        self.subscription_id.choices = options([("", "None"), *((str(s.id), s.plan_name) for s in subscriptions)])
        # A status the agent or the offline job set stays selectable until someone changes it.
        statuses = EDITABLE_STATUSES if current_status in (None, *EDITABLE_STATUSES) else (current_status, *EDITABLE_STATUSES)
        self.status.choices = options((s, s) for s in statuses)

    def validate_mac_addresses(self, field: StringField) -> None:
        macs = split_list(field.data, lower=True)
        bad = [m for m in macs if not MAC.match(m.replace("-", ":"))]
        if bad:
            raise ValidationError(f"Not a MAC address (aa:bb:cc:dd:ee:ff): {', '.join(bad[:3])}.")
        if len(macs) > 64:
            raise ValidationError("At most 64 MAC addresses.")

    def validate_tags(self, field: StringField) -> None:
        if any(len(t) > 50 for t in split_tags(field.data)):
            raise ValidationError("Each tag at most 50 characters.")

    def validate_custom_fields(self, field: TextAreaField) -> None:
        try:
            parse_custom_fields(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


def split_list(text: str | None, lower: bool = False) -> list[str]:
    items = [t.strip() for t in (text or "").split(",") if t.strip()]
    return sorted({t.lower() for t in items}) if lower else items


class BulkForm(FlaskForm):
    """A bulk action over the ticked devices of the inventory."""

    action = SelectField("Action", choices=options([("assign_site", "Assign site"), ("tag", "Add tag"),
                                                    ("untag", "Remove tag")]))
    device_ids = SelectMultipleField("Devices", coerce=int, validate_choice=False)
    site_id = SelectField("Site", coerce=str, validators=[Optional()])
    tag = StringField("Tag", validators=[Length(max=50)])

    def __init__(self, *args, sites=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.site_id.choices = options([("", "No site"), *((str(s.id), s.name) for s in sites)])

    def validate_device_ids(self, field: SelectMultipleField) -> None:
        if not field.data or len(field.data) > 1000:
            raise ValidationError("Tick between 1 and 1000 devices.")

    def validate_tag(self, field: StringField) -> None:
        if self.action.data in ("tag", "untag") and len(split_tags(field.data)) != 1:
            raise ValidationError("Name the tag (one tag, no commas).")
