"""Attack surface (seed 001 XASM and Lightbox, issue 14): an organization's verified
domains, discovery and active scans as RQ jobs, findings over time and reports."""

from app.core.navigation import register_section
from app.surface.blueprint import bp as bp  # the app factory registers app.surface.bp

register_section("surface", "Attack surface", 55, [
    ("surface.index", "globe2", "Domains", "data.read"),
    ("surface.findings_list", "exclamation-triangle", "Findings", "data.read"),
])

from app.surface import (  # noqa: E402,F401
    alert_rules,
    cli,
    demo,
    finding_source,
    home,
    intel_places,
    jobs,
    linkables,
    reports,
    search,
    views,
)
