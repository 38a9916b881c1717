"""Threat actors likely to target the organization (MISP galaxy data) and the organization's
threat profile (industry, regions, technologies, attack surface, data value) they are scored on."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import Length, Optional

from app import audit
from app.exposure import actors
from app.exposure.blueprint import bp
from app.forms import options
from app.models import Organization, db
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import require_org_id


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()][:30]


class ThreatProfileForm(FlaskForm):
    industry = SelectField("Industry", choices=options([("", "(not set)")] + [(k, k) for k in actors.INDUSTRIES]),
                           validators=[Optional()])
    regions = StringField("Countries where you operate (comma-separated, e.g. Australia, United States)",
                          validators=[Optional(), Length(max=500)])
    technologies = StringField("Technologies exposed (comma-separated, e.g. Exchange, Citrix, VPN)",
                               validators=[Optional(), Length(max=500)])
    internet_facing = BooleanField("Internet-facing services (mail, VPN, web applications)")
    data_value = SelectField("Value of the data held", choices=options((v, v) for v in actors.DATA_VALUES),
                             default="medium")


@bp.get("/threat-actors")
@require("exposure.view")
def threat_actors():
    """Actors from the MISP galaxy scored against the organization's threat profile, with reasons."""
    org = db.session.get(Organization, require_org_id())
    profile = actors.context(org)
    form = ThreatProfileForm(data={**profile, "regions": ", ".join(profile.get("regions") or []),
                                   "technologies": ", ".join(profile.get("technologies") or [])})
    return _page(form, org)


def _page(form: ThreatProfileForm, org: Organization, status: int = 200):
    return render_page("exposure/actors.html", status=status, form=form, matches=actors.likely_actors(org.id),
                       profile=actors.context(org), threshold=actors.THRESHOLD, total=len(actors.actors()))


@bp.post("/threat-actors")
@require("org.edit_own")
def threat_profile_save():
    """Save the organization's threat profile (audited)."""
    org = db.session.get(Organization, require_org_id())
    form = ThreatProfileForm()
    if not form.validate_on_submit():
        return _page(form, org, INVALID_FORM_STATUS)
    values = {"industry": form.industry.data or None, "regions": _split(form.regions.data),
              "technologies": _split(form.technologies.data), "internet_facing": bool(form.internet_facing.data),
              "data_value": form.data_value.data}
    old = actors.save_context(org, values)
    audit.record("exposure.threat_profile_saved", resource_type="organization", resource_id=org.id,
                 old=old, new=values)
    db.session.commit()
    return redirect_after_post("exposure.threat_actors")
