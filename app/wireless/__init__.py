"""Wireless surveillance detection (seed 000, ShadowCheck): import what a phone or Kismet
recorded, find the radios that follow a person, map them and explain every score.

Each module registers its routes, commands or jobs on import; the list below is the domain.
"""

from app.core.navigation import register_section
from app.wireless.blueprint import bp as bp  # the app factory registers app.wireless.bp

register_section("wireless", "Wireless", 50, [
    ("wireless.network_list", "wifi", "Networks", "data.read"),
    ("wireless.map_view", "map", "Map", "data.read"),
    # An analyst's order: look (networks, map), feed (imports), tell it where (places...),
    # then tune (scoring, models) and configure (providers).
    ("wireless.import_list", "upload", "Imports", "data.read"),
    ("wireless.location_markers", "house", "Places", "data.read"),
    ("wireless.route_list", "signpost-split", "Routes", "data.read"),
    ("wireless.device_sources", "phone", "Device sources", "data.read"),
    ("wireless.agency_offices", "building", "Agency offices", "data.read"),
    ("wireless.scoring_settings", "sliders2", "Threat scoring", "data.read"),
    ("wireless.ml_models", "cpu", "Threat models", "data.read"),
    ("wireless.providers", "key", "Providers", "org.edit_own"),
])

from app.wireless import (  # noqa: E402,F401
    alert_rules,
    cli,
    cli_enrich,
    cli_import,
    cli_reference,
    cli_score,
    demo,
    home,
    jobs,
    jobs_enrich,
    jobs_import,
    jobs_ml,
    jobs_score,
    reports,
    search,
    views_detail,
    views_explorer,
    views_import,
    views_map,
    views_ml,
    views_providers,
    views_reference,
    views_score,
)
