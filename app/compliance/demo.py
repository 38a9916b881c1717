"""Demo compliance data (registered with app.core.demo_data): the catalogues and a
SOC 2 assessment with a few reviewed controls for each demo organization."""

from __future__ import annotations

from app.compliance import frameworks, services
from app.core.demo_data import register_demo
from app.models import Organization

# (control id, status) set on each demo organization's SOC 2 assessment
DEMO_STATUSES = (("CC6.1", "compliant"), ("CC6.2", "compliant"), ("CC6.6", "partial"), ("CC7.1", "partial"),
                 ("CC7.2", "non_compliant"), ("CC8.1", "compliant"), ("A1.2", "compliant"))


def seed(orgs: dict[str, Organization]) -> None:
    """Load the frameworks and start a SOC 2 assessment per demo organization."""
    frameworks.load_frameworks()
    for org in orgs.values():
        assessment = services.start_assessment(org.id, "SOC2", None)
        wanted = dict(DEMO_STATUSES)
        for control in assessment.controls:
            if control.control_id in wanted:
                control.status = wanted[control.control_id]
        services.recompute(assessment)


register_demo(seed)
