"""Demo roadmaps (registered with app.core.demo_data): a profile and a generated roadmap
with a few completed tasks per demo organization."""

from __future__ import annotations

from app.core.demo_data import register_demo
from app.models import Organization
from app.roadmap import library, services

DONE = ("enable_mfa", "password_policy", "spf_record")


def seed(orgs: dict[str, Organization]) -> None:
    """Load the task library, profile each demo organization and complete a few tasks."""
    library.load_library()
    for org in orgs.values():
        profile = services.save_profile(org.id, {"company_size": "medium", "industry": "technology",
                                                 "handles_pii": True, "compliance_requirements": ["SOC2"]}, None)
        for row, _task in services.tasks(profile):
            if row.task_id in DONE:
                services.set_status(row, "completed")


register_demo(seed)
