"""Cross-cutting pages and hooks: health, the sign-in guard, headers, org switch, account."""

from flask import Blueprint

from app.core.navigation import register_top

bp = Blueprint("core", __name__)

# The top of the navigation: Home is the dashboard (other packages add Alerts, Search...).
register_top(("dashboard.index", "house", "Home", "dashboard.view"), 0)

from app.core import guard, jobs, views  # noqa: E402,F401  (registers routes, hooks and jobs)
