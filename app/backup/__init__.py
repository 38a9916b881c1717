"""Vigil's own backups (issue 17): archive, restore, retention, restore tests, alerts.

`vigil backup ...` is this blueprint's CLI group; the admin page lives under /admin/backups.
"""

from flask import Blueprint

from app.core.navigation import register_section

bp = Blueprint("backup", __name__, url_prefix="/admin/backups", cli_group="backup")

register_section("admin", "Administration", 90, [
    ("backup.index", "safe", "Vigil backups", "backup.manage"),
])

from app.backup import alert_rules, cli, jobs, views  # noqa: E402,F401
