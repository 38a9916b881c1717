"""Forms of the fleet pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from app.forms import options
from app.models.fleet import BILLING_CYCLES, DEVICE_TYPES, ENVIRONMENTS, SUBSCRIPTION_STATUSES


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
