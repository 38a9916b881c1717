"""Compliance (seed 001, issue 16): framework catalogues, assessments scored from control
statuses, evidence (uploaded, linked and automatic), and controls flagged by scan findings.

Each module registers its routes, commands or jobs on import; the list below is the domain.
"""

from app.compliance.blueprint import bp as bp  # the app factory registers app.compliance.bp
from app.core.navigation import register_section

register_section("compliance", "Compliance", 60, [
    ("compliance.overview", "clipboard-check", "Compliance", "compliance.view"),
    ("compliance.evidence_expiring", "hourglass-split", "Expiring evidence", "compliance.view"),
])

from app.compliance import (  # noqa: E402,F401
    cli,
    demo,
    intel_places,
    jobs,
    links,
    live,
    reports,
    search,
    views,
    views_evidence,
)
