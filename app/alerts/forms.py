"""The Alerts page's forms: filters, and acting on one alert of any domain (resolve, mute)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.alerting.registry import DOMAIN_LABELS
from app.forms import options
from app.models.alerting import ALERT_SEVERITIES

MUTE_CHOICES = (("1", "1 hour"), ("4", "4 hours"), ("8", "8 hours"), ("24", "24 hours"), ("72", "3 days"),
                ("168", "7 days"))


class ResolveForm(FlaskForm):
    note = TextAreaField("Resolution note", validators=[DataRequired(message="Say what was done."), Length(max=2000)])


class MuteForm(FlaskForm):
    hours = SelectField("Mute for", choices=options(MUTE_CHOICES), default="4")


STATUS_FILTERS = ("active", "open", "acknowledged", "muted", "resolved", "all")


class AlertFilterForm(FlaskForm):
    """The Alerts page's filters (GET): domain, severity, status and a target search."""

    class Meta:
        csrf = False

    domain = SelectField("Domain", validators=[Optional()])
    severity = SelectField("Severity", choices=options([("", "Any"), *((s, s) for s in ALERT_SEVERITIES)]),
                           validators=[Optional()])
    status = SelectField("Status", choices=options((s, s) for s in STATUS_FILTERS), default="active",
                         validators=[Optional()])
    target = StringField("Target", validators=[Optional(), Length(max=100)])

    def __init__(self, *args, domains: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.domain.choices = options([("", "Any"), *((d, DOMAIN_LABELS.get(d, d)) for d in domains)])
