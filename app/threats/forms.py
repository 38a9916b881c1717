"""Forms of the threats pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from app.forms import options
from app.indicators.store import IndicatorError, normalise
from app.models.security import EVENT_SEVERITIES
from app.models.threats import INDICATOR_TYPES, TLP_LEVELS
from app.threats.incident_links import parse_refs
from app.threats.incidents import IncidentError


class EventFilterForm(FlaskForm):
    class Meta:
        csrf = False

    event_type = StringField("Type", validators=[Optional(), Length(max=50)])
    severity = SelectField("Severity", choices=options([("", "Any"), *((s, s) for s in EVENT_SEVERITIES)]),
                           validators=[Optional()])
    min_risk = IntegerField("Risk at least", validators=[Optional(), NumberRange(0, 100)])
    email = StringField("User", validators=[Optional(), Length(max=255)])
    ip = StringField("IP", validators=[Optional(), Length(max=45)])


class IndicatorForm(FlaskForm):
    indicator_type = SelectField("Type", choices=options((t, t) for t in INDICATOR_TYPES), validators=[DataRequired()])
    indicator_value = StringField("Value", validators=[DataRequired(), Length(max=500)])
    threat_type = StringField("Threat type", validators=[Optional(), Length(max=100)])
    severity = SelectField("Severity", choices=options((s, s) for s in ("low", "medium", "high", "critical")),
                           default="medium")
    confidence = DecimalField("Confidence (0-100)", places=0, default=50, validators=[DataRequired(), NumberRange(0, 100)])
    tlp = SelectField("TLP", choices=options((t, t.upper()) for t in TLP_LEVELS), default="amber")
    source = StringField("Source", default="manual", validators=[DataRequired(), Length(max=100)])
    expires_at = DateTimeLocalField("Expires (UTC)", validators=[Optional()], format="%Y-%m-%dT%H:%M")
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])

    def validate_indicator_value(self, field: StringField) -> None:
        try:
            normalise(self.indicator_type.data, field.data or "")
        except IndicatorError as exc:
            raise ValidationError(str(exc)) from exc


INCIDENT_TYPES = ("account_compromise", "brute_force", "credential_stuffing", "malware", "phishing",
                  "data_exposure", "insider", "policy_violation", "other")


def _ids(text: str | None) -> list[int]:
    return [int(p) for p in (text or "").replace(" ", "").split(",") if p]


class IncidentForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=500)])
    incident_type = SelectField("Type", choices=options((t, t.replace("_", " ")) for t in INCIDENT_TYPES))
    severity = SelectField("Severity", choices=options((s, s) for s in ("low", "medium", "high", "critical")),
                           default="medium")
    priority = SelectField("Priority", choices=options((s, s) for s in ("low", "medium", "high", "critical")),
                           default="medium")
    assigned_to = SelectField("Assignee", coerce=str, validators=[Optional()])
    description = TextAreaField("Description", validators=[Optional(), Length(max=20000)])
    threat_ids = StringField("Linked threats (ids)", validators=[Optional(), Length(max=1000)])
    event_ids = StringField("Linked security events (ids)", validators=[Optional(), Length(max=1000)])
    links = StringField("Linked objects (type:id, comma-separated)", validators=[Optional(), Length(max=2000)],
                        description="Any alert, network, indicator, user, device, metric or threat, e.g. alert:12.")

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.assigned_to.choices = options([("", "Nobody yet"), *((str(u.id), u.email) for u in people)])

    def validate_threat_ids(self, field: StringField) -> None:
        try:
            _ids(field.data)
        except ValueError as exc:
            raise ValidationError("Use numbers separated by commas.") from exc

    validate_event_ids = validate_threat_ids

    def validate_links(self, field: StringField) -> None:
        try:
            self.refs = parse_refs(field.data)
        except IncidentError as exc:
            raise ValidationError(str(exc)) from exc

    def parsed(self, name: str) -> list[int]:
        return _ids(getattr(self, name).data)


class LinkForm(FlaskForm):
    ref = StringField("Link an object (type:id)", validators=[DataRequired(message="Write type:id, e.g. alert:12."),
                                                                Length(max=200)])


class CommentForm(FlaskForm):
    body = TextAreaField("Comment", validators=[DataRequired(), Length(max=20000)])


class IncidentStatusForm(FlaskForm):
    status = SelectField("Status", choices=options((s, s) for s in ("open", "investigating", "resolved", "closed")))
    note = StringField("Note (the resolution, when resolving or closing)", validators=[Optional(), Length(max=2000)])
    resolve_alerts = BooleanField("Resolve the linked alerts too", default=True)


class AssignForm(FlaskForm):
    assigned_to = SelectField("Assignee", coerce=str, validators=[Optional()])

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.assigned_to.choices = options([("", "Nobody"), *((str(u.id), u.email) for u in people)])
