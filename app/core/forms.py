"""Forms for the account page."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.forms import options
from app.models.identity import THEMES


class AccountForm(FlaskForm):
    first_name = StringField("First name", validators=[Optional(), Length(max=100)])
    last_name = StringField("Last name", validators=[Optional(), Length(max=100)])
    phone_number = StringField("Phone", validators=[Optional(), Length(max=50)])
    timezone = StringField("Time zone", validators=[DataRequired(), Length(max=50)])
    theme = SelectField("Theme", choices=options((t, t.title()) for t in THEMES))

    def validate_timezone(self, field: StringField) -> None:
        if field.data not in available_timezones() and field.data != "UTC":
            raise ValidationError("Unknown time zone; use an IANA name such as Europe/Paris.")


class ThemeForm(FlaskForm):
    theme = SelectField("Theme", choices=options((t, t.title()) for t in THEMES), validators=[DataRequired()])
