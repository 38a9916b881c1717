"""Fleet operations (seed 002): device inventory, enrolment, heartbeats, subscriptions.

The agent's endpoints live on the JSON API (`app/api/agent.py`); they call the same
services as these pages.
"""

from app.core.navigation import register_section
from app.fleet.blueprint import bp as bp  # the app factory registers app.fleet.bp

register_section("fleet", "Fleet", 40, [
    ("fleet.dashboard", "speedometer2", "Fleet dashboard", "data.read"),
    ("fleet.index", "hdd-network", "Fleet inventory", "data.read"),
    ("fleet.scanners", "radar", "Scanner operations", "data.read"),
    ("fleet.subscriptions", "receipt", "Subscriptions", "data.read"),
    ("fleet.alerts", "bell", "Fleet alerts", "data.read"),  # every domain's: Alerts (/alerts)
    ("fleet.maintenance_windows", "cone-striped", "Maintenance windows", "data.read"),
])

from app.fleet import (  # noqa: E402,F401
    alert_rules,
    cli,
    cli_alerts,
    compliance_sources,
    demo,
    home,
    intel_places,
    jobs,
    reports,
    search,
    views,
    views_alerts,
    views_dashboard,
    views_device,
    views_facts,
    views_inventory,
    views_ops,
    views_rules,
)
