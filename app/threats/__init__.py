"""Detection and response: security events with risk scores, threat intelligence."""

from flask import Blueprint

bp = Blueprint("threats", __name__, url_prefix="/threats")

from app.threats import cli, jobs, views, views_import, views_incidents  # noqa: E402,F401
from app.threats.ratelimit import enforce as _enforce_rate_limits  # noqa: E402

bp.before_app_request(_enforce_rate_limits)
