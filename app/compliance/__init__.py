"""Compliance (seed 001, issue 16): framework catalogues, assessments scored from control
statuses, evidence (uploaded, linked and automatic), and controls flagged by scan findings.

Each module registers its routes, commands or jobs on import; the list below is the domain.
"""

from flask import Blueprint

from app.core.navigation import register_section

bp = Blueprint("compliance", __name__, url_prefix="/compliance")

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
