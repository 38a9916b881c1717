"""Sign-in pages: login, logout and the one-time set-password link."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from app import audit
from app.auth import bp, services
from app.auth.forms import LoginForm, SetPasswordForm
from app.extensions import login_manager
from app.models import db
from app.rendering import INVALID_FORM_STATUS, render_page


@login_manager.user_loader
def load_user(token: str):
    return services.load_session_user(token)


def safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; check the password, apply lockout, open a session."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        result = services.authenticate(
            form.email.data, form.password.data, request.remote_addr or "unknown",
            request.headers.get("User-Agent"),
        )
        db.session.commit()
        if result.user is not None:
            session.clear()  # no fixation: a fresh cookie session for the new sign-in
            login_user(result.user)
            session.permanent = True
            return redirect(safe_next(request.args.get("next")), code=303)
        error = result.error
    status = INVALID_FORM_STATUS if (error or form.errors) else 200
    return render_page("auth/login.html", status=status, form=form, error=error)


@bp.post("/logout")
def logout():
    """End the current server-side session and sign out."""
    user = current_user._get_current_object()
    services.revoke_token(user.session_token, "logout")
    audit.record("auth.logout", resource_type="user", resource_id=user.id)
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str):
    """Choose a password from a one-time link (invitation or admin reset)."""
    user, problem = services.user_for_set_password_token(token)
    if user is None:
        return render_page("auth/set_password.html", status=400, form=None, problem=problem)
    form = SetPasswordForm()
    if form.validate_on_submit():
        services.set_password(user, form.password.data)
        db.session.commit()
        flash("Your password is set. Sign in with it now.", "success")
        return redirect(url_for("auth.login"), code=303)
    status = INVALID_FORM_STATUS if form.errors else 200
    return render_page("auth/set_password.html", status=status, form=form, problem=None, user=user)
