"""The home page: each domain's posture, what needs attention now, recent activity.

Domains feed it by registration (app/dashboard/registry.py) from their own `home.py`.
"""

from app.core.navigation import register_top
from app.dashboard.blueprint import bp as bp  # the app factory registers app.dashboard.bp

# The top of the navigation: Home first, then Alerts (10) and Search (20), then the domains.
register_top(("dashboard.index", "house", "Home", "dashboard.view"), 0)

from app.dashboard import reports, views  # noqa: E402,F401
from app.dashboard.registry import register_org_column, register_timeline  # noqa: E402
from app.dashboard.services import audit_timeline, users_per_org  # noqa: E402

register_timeline("audit", "Audit log", "audit.view", audit_timeline, order=90)
register_org_column("users", "Users", users_per_org, order=90)
