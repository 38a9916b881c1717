"""The home page: real counts from what exists in the current organization."""

from flask import Blueprint

from app.core.navigation import register_section

bp = Blueprint("dashboard", __name__)

register_section("home", "", 0, [
    ("dashboard.index", "speedometer2", "Dashboard", "dashboard.view"),
])

from app.dashboard import reports, views  # noqa: E402,F401
