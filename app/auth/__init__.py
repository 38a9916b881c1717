"""Sign-in: login, logout, server-side sessions, lockout and set-password links."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from app.auth import compliance_sources, guards, views  # noqa: E402,F401
