"""Forms of the Providers page (credentials, enrichment and geocoding batches).

Secrets are PasswordFields, which never render a value back: a blank one keeps the stored
secret when only the API name changes.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.forms import options
from app.wireless.geocoding import PROVIDER_NAMES
from app.wireless.wigle.enrich import APIS


class CredentialForm(FlaskForm):
    api_name = StringField("API name", validators=[Optional(), Length(max=200)])
    secret = PasswordField("Secret", validators=[Optional(), Length(max=500)])


class EnrichForm(FlaskForm):
    limit = IntegerField("Networks", default=50, validators=[InputRequired(), NumberRange(1, 1000)])
    api = SelectField("WiGLE API", default="v3", choices=options(
        (a, {"v3": "v3 detail (sightings)", "v2": "v2 detail", "v2-search": "v2 search (no sightings)"}[a])
        for a in APIS))


class GeocodeForm(FlaskForm):
    provider = SelectField("Provider", default="offline", choices=options((p, p) for p in PROVIDER_NAMES))
    limit = IntegerField("Positions", default=200, validators=[InputRequired(), NumberRange(1, 1000)])
    scope = SelectField("Positions of", default="networks", choices=options(
        (("networks", "networks (best position)"), ("sightings", "sightings"))))
