"""Wireless surveillance detection (seed 000, ShadowCheck): import what a phone or Kismet
recorded, find the radios that follow a person, map them and explain every score.

Each module registers its routes, commands or jobs on import; the list below is the domain.
"""

from flask import Blueprint

bp = Blueprint("wireless", __name__, url_prefix="/wireless")

from app.wireless import (  # noqa: E402,F401
    cli,
    cli_enrich,
    cli_import,
    cli_reference,
    cli_score,
    demo,
    jobs,
    jobs_enrich,
    jobs_import,
    jobs_ml,
    jobs_score,
    views_detail,
    views_explorer,
    views_import,
    views_map,
    views_ml,
    views_providers,
    views_reference,
    views_score,
)
