"""Default deny: every endpoint needs a signed-in user unless it is on PUBLIC_ENDPOINTS.

A new route that forgets a decorator is still protected; the route sweep test walks
app.url_map against this allowlist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, jsonify, redirect, request, url_for
from flask_login import current_user

from app.core.blueprint import bp
from app.htmx import add_vary, hx_redirect, is_htmx
from app.models import utcnow

PUBLIC_ENDPOINTS = frozenset(
    {
        "static",
        "core.health",
        "auth.login",
        "core.login_redirect",  # /login -> the sign-in page
        "auth.set_password",
        "auth.mfa_challenge",
        "auth.forgot_password",
        "api.openapi",
        "api.token",
        "api.refresh",
        "api.revoke",
        "api.agent_enrol",  # authenticated by its one-time claim code
        "exposure.monitor_confirm",  # an address's owner confirms monitoring by its signed link
        "fleet.agent_installer",  # the agent's installer and source: public code, no secrets
        "fleet.agent_tarball",
        "bait_honeypot.hit",  # the canary-token honeypot: intruders touch it, nobody signs in
    }
)
# Reachable by a signed-in user who still has to enrol MFA or change an expired password.
ENROLMENT_ENDPOINTS = frozenset({"auth.mfa_enrol", "auth.logout", "static", "core.health"})
PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.change_password", "auth.logout", "static", "core.health"})


# Seams the layers above fill in (the core never imports them): a blueprint whose requests
# carry their own credentials (app/api registers its bearer check), and what a signed-in
# user must do before anything else (app/auth registers MFA enrolment). A check returns a
# response to send instead, or None.
AUTHENTICATORS: dict[str, Callable[[], Any]] = {}
SIGNED_IN_CHECKS: list[Callable[[], Any]] = []


def register_authenticator(blueprint: str, authenticate: Callable[[], Any]) -> None:
    """Requests to `blueprint` are authenticated by `authenticate()` instead of the session."""
    AUTHENTICATORS[blueprint] = authenticate


def register_signed_in_check(check: Callable[[], Any]) -> Callable[[], Any]:
    """Run `check()` for every signed-in request (after the password-change check)."""
    if check not in SIGNED_IN_CHECKS:
        SIGNED_IN_CHECKS.append(check)
    return check


def is_public(endpoint: str | None) -> bool:
    return endpoint is None or endpoint in PUBLIC_ENDPOINTS


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


@bp.before_app_request
def require_sign_in():
    """Send anonymous requests to sign in (or 401 for the JSON API)."""
    if is_public(request.endpoint):
        return None
    authenticate = AUTHENTICATORS.get(request.blueprint)
    if authenticate is not None:
        return authenticate()  # the API: bearer credentials only, a browser session is not one
    if current_user.is_authenticated:
        return enforce_password_change() or next(
            (answer for answer in (check() for check in SIGNED_IN_CHECKS) if answer is not None), None)
    if wants_json():
        return jsonify(error={"code": "unauthenticated", "message": "Sign in or send an API key."}), 401
    login_url = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if is_htmx():
        response = jsonify(ok=False)
        response.status_code = 401
        return hx_redirect(response, login_url)
    return redirect(login_url)


def enforce_password_change():
    """An expired password (policy) or an admin's demand must be dealt with first."""
    user = current_user
    expired = user.password_expires_at is not None and user.password_expires_at <= utcnow()
    if not (expired or user.must_change_password) or request.endpoint in PASSWORD_CHANGE_ENDPOINTS:
        return None
    if wants_json():
        return jsonify(error={"code": "password_change_required", "message": "Change your password first."}), 403
    return redirect(url_for("auth.change_password"))


CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def csp_allowing(*, img: tuple[str, ...] = (), connect: tuple[str, ...] = ()) -> str:
    """The strict CSP plus exactly these extra image and fetch sources (a map page's tile
    host); callers pass sources already held to plain host characters."""
    policy = CSP
    if img:
        policy = policy.replace("img-src 'self' data:", "img-src 'self' data: " + " ".join(img))
    if connect:
        policy = policy.replace("connect-src 'self'", "connect-src 'self' " + " ".join(connect))
    return policy


@bp.after_app_request
def security_headers(response):
    """Strict CSP (no inline script or style), no framing, no sniffing."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if current_app.config["VIGIL_ENV"] == "production":
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return add_vary(response)
