"""Demo reports (registered with app.core.demo_data): each demo organization gets its
executive report of the current month queued (the worker renders it, so a newcomer opens a
PDF with data in it: the demo rows are all from this month) and a monthly schedule."""

from __future__ import annotations

from app.core.demo_data import register_demo
from app.models import Organization, utcnow
from app.reports import schedules, services

DEMO_KIND = "executive"


def seed(orgs: dict[str, Organization]) -> None:
    """Queue this month's executive report and schedule it monthly for each demo organization."""
    month = f"{utcnow():%Y-%m}"
    for org in orgs.values():
        services.request_report(org.id, DEMO_KIND, user_id=None, params={"month": month, "subject": None})
        schedules.create(org.id, kind=DEMO_KIND, frequency="monthly", hour=7, timezone="UTC",
                         recipients=[f"ciso@{org.primary_domain}"], user_id=None)


register_demo(seed)
