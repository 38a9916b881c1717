"""Health, organization switch and the signed-in user's own account page."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, flash, jsonify, redirect, request, url_for
from flask_login import current_user

from app import audit
from app.core.blueprint import bp
from app.core.forms import AccountForm, ThemeForm
from app.core.health import HEALTH_CHECKS, HEALTH_DETAILS
from app.models import db
from app.models.base import as_dict
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import switch_org

ACCOUNT_FIELDS = ["first_name", "last_name", "phone_number", "timezone", "theme"]


@bp.get("/health")
def health():
    """Say what answers: 200 while the database does (Redis down only degrades), else 503."""
    checks = {"database": "ok", "redis": "ok", "queue": "ok"}
    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        db.session.rollback()
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        current_app.extensions["vigil_redis"].ping()
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {type(exc).__name__}"
        checks["queue"] = "unavailable: jobs cannot be started or run"
    for name, check in HEALTH_CHECKS.items():  # registered: the rate limiter's store, ...
        problem = check()
        if problem is not None:
            checks[name] = problem
    degraded = sorted(name for name, value in checks.items() if value != "ok")
    status = "unavailable" if checks["database"] != "ok" else ("degraded" if degraded else "ok")
    body = {"status": status, "checks": checks}
    if degraded:
        body["degraded"] = degraded
    for name, detail in HEALTH_DETAILS.items():  # registered: the queue's workers, ...
        value = detail(checks)
        if value is not None:
            body[name] = value
    return jsonify(body), 503 if status == "unavailable" else 200


@bp.get("/login")
def login_redirect():
    """/login, the address people type, goes to the sign-in page (keeping ?next=)."""
    next_url = request.args.get("next")
    return redirect(url_for("auth.login", next=next_url) if next_url else url_for("auth.login"))


@bp.post("/org/switch")
@require("org.switch")
def org_switch():
    """Make another organization the one a super admin acts for."""
    try:
        org_id = int(request.form.get("org_id", ""))
    except ValueError:
        return jsonify(error={"code": "bad_org", "message": "Choose an organization."}), 400
    org = switch_org(org_id)
    audit.record("org.switched", resource_type="organization", resource_id=org.id, org_id=org.id)
    db.session.commit()
    flash(f"Now working in {org.name}.", "success")
    return redirect_after_post("dashboard.index")


@bp.route("/account", methods=["GET", "POST"])
def account():
    """Show and edit the signed-in user's profile and preferences."""
    user = current_user._get_current_object()
    form = AccountForm(obj=user)
    if form.validate_on_submit():
        old = as_dict(user, ACCOUNT_FIELDS)
        form.populate_obj(user)
        before, after = audit.changes(old, as_dict(user, ACCOUNT_FIELDS))
        if after:
            audit.record("user.profile_updated", resource_type="user", resource_id=user.id, old=before, new=after)
        db.session.commit()
        flash("Your account was saved.", "success")
        return redirect_after_post("core.account")
    status = INVALID_FORM_STATUS if form.errors else 200
    return render_page("core/account.html", block="account_form", status=status, form=form)


@bp.post("/account/theme")
def account_theme():
    """Switch the signed-in user's colour theme."""
    form = ThemeForm()
    if not form.validate_on_submit():
        return jsonify(error={"code": "bad_theme", "message": "Unknown theme."}), 400
    user = current_user._get_current_object()
    old = user.theme
    user.theme = form.theme.data
    audit.record("user.theme_changed", resource_type="user", resource_id=user.id, old={"theme": old}, new={"theme": user.theme})
    db.session.commit()
    return redirect_after_post(request.args.get("next_endpoint", "dashboard.index"))
