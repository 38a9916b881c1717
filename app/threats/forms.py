"""Forms of the threats pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from app.forms import options
from app.models.security import EVENT_SEVERITIES
from app.models.threats import INDICATOR_TYPES, TLP_LEVELS
from app.threats.intel import IndicatorError, normalise


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
