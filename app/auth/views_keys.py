"""API keys: create (the secret is shown once), list and revoke."""

from __future__ import annotations

from flask import abort, flash
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app import audit
from app.auth.api_keys import create_api_key
from app.auth.blueprint import bp
from app.auth.events import record_event
from app.forms import options
from app.models import ApiKey, db, utcnow
from app.permissions import can, require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.scopes import all_scopes
from app.tenancy import require_org_id, scoped


class ApiKeyForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    scopes = SelectMultipleField("Scopes", choices=lambda: options((s, s) for s in all_scopes()),  # domains register theirs
                                 validators=[DataRequired("Choose at least one scope.")])
    expires_days = IntegerField("Expires after (days)", default=90, validators=[Optional(), NumberRange(1, 730)])


def visible_keys():
    stmt = scoped(ApiKey)
    if not can("user.manage"):
        stmt = stmt.where(ApiKey.user_id == current_user.id)
    return db.session.scalars(stmt.order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc())).all()


@bp.route("/api-keys", methods=["GET", "POST"])
@require("threats.view")
def api_keys():
    """The user's API keys (admins: the organization's); create one, shown once."""
    form = ApiKeyForm()
    secret = None
    if form.validate_on_submit():
        if not can("threats.manage") and "intel:write" in form.scopes.data:
            form.scopes.errors = ["Your role cannot grant intel:write."]
        else:
            secret, _ = create_api_key(current_user, require_org_id(), form.name.data, form.scopes.data,
                                       form.expires_days.data)
            db.session.commit()
            form = ApiKeyForm(formdata=None)
    status = INVALID_FORM_STATUS if form.errors else 200
    return render_page("auth/api_keys.html", status=status, form=form, keys=visible_keys(), secret=secret,
                       now=utcnow())


@bp.post("/api-keys/<int:key_id>/revoke")
@require("threats.view")
def api_key_revoke(key_id: int):
    """Revoke a key at once (owners, or admins for any key of the organization)."""
    stmt = scoped(ApiKey).where(ApiKey.id == key_id)
    if not can("user.manage"):
        stmt = stmt.where(ApiKey.user_id == current_user.id)
    key = db.session.scalar(stmt)
    if key is None:
        abort(404)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record("api_key.revoked", resource_type="api_key", resource_id=key.id, new={"revoked": True})
        record_event("api_key_revoked", f"API key {key.key_prefix} revoked", user=current_user._get_current_object())
        db.session.commit()
        flash(f"Key {key.key_prefix} revoked.", "success")
    return redirect_after_post("auth.api_keys")


