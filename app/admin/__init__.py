"""Administration: organizations, sites, users, settings and the audit log."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from app.admin import (  # noqa: E402,F401
    jobs,
    views_audit,
    views_orgs,
    views_policy,
    views_settings,
    views_sites,
    views_users,
)
