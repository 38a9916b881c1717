"""The organization's security policy: password rules and who must use MFA."""

from __future__ import annotations

from dataclasses import asdict

from flask import flash
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectMultipleField
from wtforms.validators import InputRequired, NumberRange

from app import audit
from app.admin.blueprint import bp
from app.auth.policy import SecurityPolicy
from app.forms import options
from app.models import Organization, db
from app.permissions import ROLE_LABELS, require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import require_org_id


class PolicyForm(FlaskForm):
    password_min_length = IntegerField("Minimum password length", validators=[InputRequired(), NumberRange(8, 128)])
    password_history = IntegerField("Refuse the last N passwords (0: off)", validators=[InputRequired(), NumberRange(0, 24)])
    password_expiry_days = IntegerField("Passwords expire after (days, 0: never)",
                                        validators=[InputRequired(), NumberRange(0, 730)])
    mfa_required = BooleanField("Everyone must use MFA")
    mfa_required_roles = SelectMultipleField(
        "Roles that must use MFA", choices=options((r, ROLE_LABELS[r]) for r in ("admin", "analyst", "operator", "read_only")))


@bp.route("/policy", methods=["GET", "POST"])
@require("org.edit_own")
def policy():
    """Edit the current organization's password and MFA policy."""
    org = db.session.get(Organization, require_org_id())
    current = SecurityPolicy.from_dict(org.policy)
    form = PolicyForm(data={**asdict(current), "mfa_required_roles": list(current.mfa_required_roles)})
    if form.validate_on_submit():
        new = {
            "password_min_length": form.password_min_length.data,
            "password_history": form.password_history.data,
            "password_expiry_days": form.password_expiry_days.data,
            "mfa_required": form.mfa_required.data,
            "mfa_required_roles": sorted(form.mfa_required_roles.data),
        }
        old = {**asdict(current), "mfa_required_roles": list(current.mfa_required_roles)}
        before, after = audit.changes(old, new)
        if after:
            org.policy = {**(org.policy or {}), **new}
            audit.record("org.policy_changed", resource_type="organization", resource_id=org.id, old=before, new=after)
            db.session.commit()
        flash("Security policy saved. MFA requirements apply at each user's next request.", "success")
        return redirect_after_post("admin.policy")
    status = INVALID_FORM_STATUS if form.errors else 200
    return render_page("admin/policy.html", status=status, form=form, org=org)
