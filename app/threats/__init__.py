"""Detection and response: security events with risk scores, threat intelligence."""

from app.core.navigation import register_section
from app.threats.blueprint import bp

register_section("threats", "Threat operations", 20, [
    ("threats.overview", "activity", "Security overview", "threats.view"),
    ("threats.threats", "radar", "Threats", "threats.view"),
    ("threats.incident_list", "clipboard2-pulse", "Incidents", "threats.view"),
    ("threats.events", "shield-exclamation", "Security events", "threats.view"),
    ("threats.blocks", "slash-circle", "Blocks", "threats.view"),
    ("threats.intel", "bug", "Threat intel", "threats.view"),
])

# geo's flush listener locates every new security event
from app.indicators import geo  # noqa: E402,F401
from app.threats import (  # noqa: E402,F401
    alert_rules,
    cli,
    demo,
    home,
    intel_places,
    jobs,
    linkables,
    reports,
    search,
    signin_hooks,
    views,
    views_entity,
    views_import,
    views_incidents,
)
from app.threats.ratelimit import enforce as _enforce_rate_limits  # noqa: E402

bp.before_app_request(_enforce_rate_limits)
