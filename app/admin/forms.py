"""Admin forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import Length, Optional, ValidationError


class AuditFilterForm(FlaskForm):
    """GET filters for the audit viewer (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    actor = StringField("Actor", validators=[Optional(), Length(max=255)])
    action = StringField("Action", validators=[Optional(), Length(max=100)])
    resource = StringField("Resource", validators=[Optional(), Length(max=160)],
                           description="type or type:id, e.g. user:12")
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date is before the start date.")
