"""Administration: organizations, sites, users, settings and the audit log."""

from app.admin.blueprint import bp as bp  # the app factory registers app.admin.bp
from app.core.navigation import register_section

register_section("admin", "Administration", 90, [
    ("admin.orgs", "buildings", "Organizations", "org.edit_own"),
    ("admin.sites", "geo-alt", "Sites", "site.view"),
    ("admin.users", "people", "Users", "user.view"),
    ("admin.policy", "shield-lock", "Security policy", "org.edit_own"),
    ("notifications.channels", "broadcast", "Channels", "notifications.channels"),
    ("admin.audit", "journal-check", "Audit log", "audit.view"),
    ("admin.settings", "sliders", "Settings", "settings.manage"),
])

from app.admin import (  # noqa: E402,F401
    jobs,
    search,
    views_audit,
    views_orgs,
    views_policy,
    views_settings,
    views_sites,
    views_users,
)
