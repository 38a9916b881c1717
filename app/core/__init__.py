"""Cross-cutting pages and hooks: health, the sign-in guard, headers, org switch, account."""

from flask import Blueprint

bp = Blueprint("core", __name__)

from app.core import guard, jobs, views  # noqa: E402,F401  (registers routes, hooks and jobs)
