"""Canary token forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.bait.kinds import KINDS
from app.forms import options


class TokenForm(FlaskForm):
    bait_type = SelectField("Kind", choices=options((k, v[0]) for k, v in KINDS.items()),
                            validators=[DataRequired()])
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    memo = TextAreaField("Where it will be planted", validators=[Optional(), Length(max=2000)])
    expires_days = IntegerField("Expires after (days, empty: never)", validators=[Optional(), NumberRange(1, 3650)])
