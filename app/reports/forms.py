"""Forms of the Reports page: generate now, and schedule."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from app.forms import options
from app.notifications.forms import MAX_RECIPIENTS, split_recipients

MONTH = re.compile(r"^(19|20)\d\d-(0[1-9]|1[0-2])$")


class GenerateForm(FlaskForm):
    kind = SelectField("Report", validators=[DataRequired()])
    month = StringField("Month", validators=[Optional(), Length(max=7)],
                        description="YYYY-MM; empty means the last full month.")
    subject = StringField("Subject", validators=[Optional(), Length(max=100)],
                          description="For reports about one thing (e.g. a network's BSSID); empty means all.")

    def __init__(self, kinds: list[tuple[str, str]], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = options(kinds)

    def validate_month(self, field: StringField) -> None:
        if field.data and not MONTH.match(field.data.strip()):
            raise ValidationError("Give the month as YYYY-MM, e.g. 2026-11.")


class ScheduleForm(FlaskForm):
    kind = SelectField("Report", validators=[DataRequired()])
    frequency = SelectField("Every", choices=options([("monthly", "Month (1st)"), ("weekly", "Week (Monday)")]),
                            validators=[DataRequired()])
    hour = IntegerField("Hour", default=7, validators=[InputRequired(), NumberRange(min=0, max=23,
                                                                                   message="Use an hour from 0 to 23.")])
    timezone = StringField("Time zone", default="UTC", validators=[DataRequired(), Length(max=64)])
    recipients = TextAreaField("Recipients", validators=[DataRequired(), Length(max=5000)],
                               description="E-mail addresses separated by commas.", render_kw={"rows": 2})

    def __init__(self, kinds: list[tuple[str, str]], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = options(kinds)
        self.recipient_list: list[str] = []

    def validate_timezone(self, field: StringField) -> None:
        try:
            ZoneInfo(field.data.strip())
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError("Unknown time zone; use a name such as Australia/Sydney.") from exc

    def validate_recipients(self, field: TextAreaField) -> None:
        try:
            addresses = split_recipients(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
        if not addresses:
            raise ValidationError("Give at least one e-mail address.")
        if len(addresses) > MAX_RECIPIENTS:
            raise ValidationError(f"At most {MAX_RECIPIENTS} recipients.")
        self.recipient_list = addresses
