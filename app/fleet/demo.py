"""Demo alerting for the demo organizations (registered with app.core.demo_data):
the default alert rules and a weekly maintenance window, so the pages are not empty."""

from __future__ import annotations

from app.core.demo_data import register_demo
from app.fleet import demo_fleet
from app.fleet.alert_rules import ensure_default_rules
from app.models import MaintenanceWindow, Organization, db


def seed_alerting(orgs: dict[str, Organization]) -> None:
    for org in orgs.values():
        ensure_default_rules(org.id)
        db.session.add(MaintenanceWindow(org_id=org.id, name="Sunday patching", recurrence="weekly",
                                         weekdays=[6], start_time="02:00", duration_minutes=120,
                                         timezone="Australia/Perth", reason="OS and scanner feed updates"))


register_demo(seed_alerting)


def seed_fleet(orgs: dict[str, Organization]) -> None:
    demo_fleet.seed_fleet(orgs)


register_demo(seed_fleet)
