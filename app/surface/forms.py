"""Forms of the attack-surface pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from app.forms import options
from app.surface.domains import SurfaceError, normalise_domain


class DomainForm(FlaskForm):
    domain = StringField("Domain", validators=[DataRequired(), Length(max=253)])

    def validate_domain(self, field) -> None:
        try:
            field.data = normalise_domain(field.data)
        except SurfaceError as exc:
            raise ValidationError(str(exc)) from exc


class ScopeForm(FlaskForm):
    exclusions = TextAreaField("Excluded hosts (one a line; *.sub.example.com excludes a subtree)",
                               validators=[Length(max=10000)])
    schedule = SelectField("Rescan", choices=options([("off", "Off"), ("daily", "Daily"), ("weekly", "Weekly")]))


class ScanForm(FlaskForm):
    active = BooleanField("Active probes (ports, TLS, web tests)")
