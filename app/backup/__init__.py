"""Vigil's own backups (issue 17): archive, restore, retention, restore tests, alerts.

`vigil backup ...` is this blueprint's CLI group; the admin page lives under /admin/backups.
"""

from app.backup.blueprint import bp as bp  # the app factory registers app.backup.bp
from app.core.navigation import register_section

register_section("admin", "Administration", 90, [
    ("backup.index", "safe", "Vigil backups", "backup.manage"),
])

from app.backup import alert_rules, cli, jobs, views  # noqa: E402,F401
