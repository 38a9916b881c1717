"""Sign-in pages: login, the second factor, logout and the one-time set-password link.

Blocked addresses are refused before these views run: the rate limiter's before_request
(app/threats/ratelimit.py) checks every credential-accepting endpoint, the API's too.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from app import audit
from app.auth import mfa, services
from app.auth.blueprint import bp
from app.auth.events import record_event
from app.auth.forms import ForgotPasswordForm, LoginForm, MfaChallengeForm, SetPasswordForm
from app.auth.policy import password_problems
from app.core.security_events import assess_risk
from app.extensions import login_manager
from app.mailer import system_settings
from app.models import User, db
from app.rendering import INVALID_FORM_STATUS, render_page

PENDING_KEY = "mfa_pending"
PENDING_SECONDS = 300


@login_manager.user_loader
def load_user(token: str):
    return services.load_session_user(token)


def safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("dashboard.index")


def client() -> tuple[str, str | None]:
    return request.remote_addr or "unknown", request.headers.get("User-Agent")


def finish_sign_in(user: User, method: str, next_url: str | None, device_token: str | None = None,
                   device=None, assessment=None):
    """Open the server-side session, set the cookies and go on."""
    ip, ua = client()
    services.complete_sign_in(user, ip, ua, method, device=device, assessment=assessment)
    db.session.commit()
    session.clear()  # no fixation: a fresh cookie session for the new sign-in
    login_user(user)
    session.permanent = True
    response = redirect(safe_next(next_url), code=303)
    if device_token:
        response.set_cookie(mfa.DEVICE_COOKIE, device_token, max_age=mfa.TRUST_DAYS * 86400, httponly=True,
                            secure=current_app.config["SESSION_COOKIE_SECURE"], samesite="Lax")
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; check the password, then the second factor when enrolled."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        ip, ua = client()
        result = services.check_credentials(form.email.data, form.password.data, ip, ua)
        user = result.user
        if user is None:
            db.session.commit()
            error = result.error
        else:
            device = mfa.trusted_device_for(user, request.cookies.get(mfa.DEVICE_COOKIE)) if user.mfa_enabled else None
            assessment = assess_risk(user, ip, ua, device)
            if assessment.action == "deny":
                error = services.deny_sign_in(user, ip, ua, assessment)
                db.session.commit()
            elif user.mfa_enabled and (device is None or assessment.action == "challenge"):
                db.session.commit()
                session[PENDING_KEY] = {"uid": user.id, "at": time.time(), "next": request.args.get("next"),
                                        "risk": assessment.score}
                return redirect(url_for("auth.mfa_challenge"), code=303)
            elif device is not None:
                device.last_seen_at = device.updated_at = services.utcnow()
                device.last_ip_address = ip
                return finish_sign_in(user, "password+trusted_device", request.args.get("next"), device=device,
                                      assessment=assessment)
            else:
                # A "challenge" for a user without MFA cannot ask for a code: allowed, and the
                # event carries the score so the detection job and admins see it.
                return finish_sign_in(user, "password", request.args.get("next"), assessment=assessment)
    status = INVALID_FORM_STATUS if (error or form.errors) else 200
    return render_page("auth/login.html", status=status, form=form, error=error)


def pending_user() -> User | None:
    pending = session.get(PENDING_KEY)
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        session.pop(PENDING_KEY, None)
        return None
    user = db.session.get(User, pending["uid"])
    return user if user is not None and user.is_active and not user.is_locked() else None


@bp.route("/mfa", methods=["GET", "POST"])
def mfa_challenge():
    """The second step of sign-in: a TOTP code or a backup code."""
    user = pending_user()
    if user is None:
        flash("Sign in again: the sign-in step expired.", "warning")
        return redirect(url_for("auth.login"), code=303)
    form = MfaChallengeForm()
    error = None
    if form.validate_on_submit():
        code = form.code.data.strip()
        if mfa.verify_totp(user, code):
            method = "password+totp"
        elif mfa.use_backup_code(user, code):
            method = "password+backup_code"
            record_event("mfa_backup_code_used", "Signed in with a backup code", user=user,
                         details={"codes_left": mfa.backup_codes_left(user)})
        else:
            method = None
        if method:
            token = None
            if form.trust_browser.data:
                token, device = mfa.trust_browser(user, client()[0], services.device_name(client()[1]))
                record_event("device_trusted", f"Browser trusted for {mfa.TRUST_DAYS} days", user=user)
            next_url = session.get(PENDING_KEY, {}).get("next")
            return finish_sign_in(user, method, next_url, device_token=token)
        ip, ua = client()
        error = services.register_failure(user, user.email, ip, ua, "mfa_failed")
        db.session.commit()
        if user.is_locked():
            session.pop(PENDING_KEY, None)
            flash(error, "error")
            return redirect(url_for("auth.login"), code=303)
        error = "That code is not valid. Codes change every 30 seconds; a code works once."
    status = INVALID_FORM_STATUS if (error or form.errors) else 200
    return render_page("auth/mfa_challenge.html", status=status, form=form, error=error)


@bp.route("/forgot", methods=["GET", "POST"])
def forgot_password():
    """Ask for a one-time password reset link by e-mail (when Vigil's e-mail is set up)."""
    form = ForgotPasswordForm()
    enabled = system_settings() is not None
    sent = False
    if enabled and form.validate_on_submit():
        services.request_password_reset(
            form.email.data, lambda token: url_for("auth.set_password", token=token, _external=True))
        db.session.commit()
        sent = True
    status = INVALID_FORM_STATUS if form.errors else 200
    return render_page("auth/forgot.html", status=status, form=form, enabled=enabled, sent=sent,
                       message=services.RESET_SENT_MESSAGE)


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
        problems = password_problems(user, form.password.data)
        if problems:
            form.password.errors = [*form.password.errors, *problems]
        else:
            services.set_password(user, form.password.data)
            db.session.commit()
            flash("Your password is set. Sign in with it now.", "success")
            return redirect(url_for("auth.login"), code=303)
    status = INVALID_FORM_STATUS if form.errors else 200
    return render_page("auth/set_password.html", status=status, form=form, problem=None, user=user)


from app.auth import views_account, views_keys  # noqa: E402,F401  (account pages)
