"""Administration: organizations, sites, users, settings and the audit log."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from app.admin import jobs, views_audit, views_orgs, views_settings, views_sites, views_users  # noqa: E402,F401
