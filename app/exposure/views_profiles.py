"""People's exposure: profiles with their risk score factor by factor, breaches from the
sources, accounts found by a username search, and the attacker view."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import flash
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from app import audit
from app.exposure import opsych, osint, profiles
from app.exposure.blueprint import bp
from app.exposure.parse import normalise_email
from app.jobs import enqueue
from app.models import db
from app.models.base import as_dict
from app.models.exposure import Breach, OpsychSearchResult, Profile, SocialMedia
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id, scoped

FIELDS = ["name", "email", "username", "phone", "company", "position", "notes"]


class ProfileForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter the person's name."), Length(max=255)])
    email = StringField("E-mail", validators=[Optional(), Length(max=255)])
    username = StringField("Username", validators=[Optional(), Length(max=64),
                                                   Regexp(r"^[A-Za-z0-9_.-]+$", message="Letters, digits, '_', '.' or '-'.")])
    phone = StringField("Phone", validators=[Optional(), Length(max=50),
                                             Regexp(r"^\+?[0-9 ().-]{6,30}$", message="A phone number such as +61 412 345 678.")])
    company = StringField("Company", validators=[Optional(), Length(max=255)])
    position = StringField("Position", validators=[Optional(), Length(max=255)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])

    def validate_email(self, field) -> None:
        # The importers' own rule: reserved test domains and internationalised addresses pass.
        if field.data and normalise_email(field.data) is None:
            raise ValidationError("Enter a valid e-mail address.")


def _list_page(form: ProfileForm, status: int = 200):
    rows = db.session.scalars(scoped(Profile).order_by(Profile.risk_score.desc(), Profile.name)).all()
    return render_page("exposure/profiles.html", status=status, form=form, rows=rows)


@bp.get("/profiles")
@require("exposure.details")
def profile_list():
    """The organization's people, riskiest first."""
    return _list_page(ProfileForm())


@bp.post("/profiles")
@require("exposure.manage")
def profile_create():
    """Add a person to watch."""
    form = ProfileForm()
    if not form.validate_on_submit():
        return _list_page(form, INVALID_FORM_STATUS)
    row = Profile(id=str(uuid.uuid4()), org_id=require_org_id(), user_id=current_user.id)
    form.populate_obj(row)
    row.email = (row.email or "").strip().lower() or None
    db.session.add(row)
    db.session.flush()
    profiles.recompute(row)
    audit.record("exposure.profile_created", resource_type="profile", resource_id=row.id, new=as_dict(row, FIELDS))
    db.session.commit()
    return redirect_after_post("exposure.profile_detail", profile_id=row.id)


@bp.get("/profiles/<profile_id>")
@require("exposure.details")
def profile_detail(profile_id: str):
    """A person's risk score factor by factor, breaches, accounts and the attacker view."""
    row = get_scoped_or_404(Profile, profile_id)
    breaches = db.session.scalars(sa.select(Breach).where(Breach.profile_id == row.id, Breach.deleted_at.is_(None))
                                  .order_by(Breach.severity, Breach.breach_name)).all()
    socials = db.session.scalars(sa.select(SocialMedia).where(SocialMedia.profile_id == row.id,
                                                              SocialMedia.deleted_at.is_(None))
                                 .order_by(SocialMedia.platform)).all()
    searches = db.session.scalars(sa.select(OpsychSearchResult).where(OpsychSearchResult.profile_id == row.id)
                                  .order_by(OpsychSearchResult.discovered_at.desc()).limit(200)).all()
    return render_page("exposure/profile_detail.html", profile=row, score=profiles.score(**profiles.inputs(row)),
                       breaches=breaches, socials=socials, searches=searches,
                       attacker=profiles.attacker_view(row), devices=osint.devices_of(row))


@bp.post("/profiles/<profile_id>/breaches")
@require("exposure.manage")
def profile_refresh(profile_id: str):
    """Ask the breach sources about the person's e-mail and rescore (audited)."""
    row = get_scoped_or_404(Profile, profile_id)
    statuses = profiles.refresh_breaches(row)
    profiles.recompute(row)
    audit.record("exposure.profile_breaches_refreshed", resource_type="profile", resource_id=row.id,
                 details={"statuses": statuses, "breaches": row.breach_count, "score": row.risk_score})
    db.session.commit()
    flash(f"Breach sources asked: {', '.join(f'{k} {v}' for k, v in statuses.items()) or 'no e-mail on the profile'}.",
          "info")
    return redirect_after_post("exposure.profile_detail", profile_id=row.id)


@bp.post("/profiles/<profile_id>/username-search")
@require("exposure.manage")
def profile_username_search(profile_id: str):
    """Queue a username search across the site list for this person."""
    row = get_scoped_or_404(Profile, profile_id)
    if not row.username:
        flash("Add a username to the profile first.", "warning")
        return redirect_after_post("exposure.profile_detail", profile_id=row.id)
    run = enqueue("exposure.username_search", org_id=row.org_id, requested_by_id=current_user.id, profile_id=row.id)
    audit.record("exposure.username_search_started", resource_type="profile", resource_id=row.id,
                 details={"username": row.username, "run": run.id, "sites": len(opsych.sites())})
    db.session.commit()
    flash("The username search is running; results appear here when it is done.", "info")
    return redirect_after_post("exposure.profile_detail", profile_id=row.id)


@bp.post("/profiles/<profile_id>/delete")
@require("exposure.manage")
def profile_delete(profile_id: str):
    """Delete a profile and everything found for it."""
    row = get_scoped_or_404(Profile, profile_id)
    audit.record("exposure.profile_deleted", resource_type="profile", resource_id=row.id, old=as_dict(row, FIELDS))
    db.session.delete(row)
    db.session.commit()
    return redirect_after_post("exposure.profile_list")
