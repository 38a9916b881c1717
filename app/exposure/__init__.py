"""Exposure intelligence (seed 001, NERVE's GHOST and OPSYCH; issue 15): breach and combolist
files stored without plaintext passwords, what they mean for the organization, unified breach
search across providers, monitored e-mails, and people's exposure.

Each module registers its routes, commands or jobs on import; the list below is the domain.
"""

from app.core.navigation import register_section
from app.exposure.blueprint import bp as bp  # the app factory registers app.exposure.bp

register_section("exposure", "Exposure", 55, [
    ("exposure.overview", "shield-exclamation", "Overview", "exposure.view"),
    ("exposure.upload_list", "file-earmark-lock", "Uploads", "exposure.view"),
    ("exposure.credential_list", "key", "Credentials", "exposure.details"),
    ("exposure.search_page", "search", "Ghost search", "exposure.manage"),
    ("exposure.monitored_list", "envelope-check", "Monitored", "exposure.view"),
    ("exposure.findings", "exclamation-diamond", "Findings", "exposure.view"),
    ("exposure.profile_list", "people", "People", "exposure.details"),
    ("exposure.threat_actors", "incognito", "Actors", "exposure.view"),
    ("exposure.provider_keys", "plug", "Sources", "org.edit_own"),
])

from app.exposure import (  # noqa: E402,F401
    alert_rules,
    cli,
    demo,
    find,
    finding_source,
    home,
    intel_places,
    jobs,
    linkables,
    reports,
    views,
    views_actors,
    views_monitor,
    views_profiles,
    views_search,
    views_uploads,
)
