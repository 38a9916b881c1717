"""Wireless surveillance detection (seed 000, ShadowCheck): import what a phone or Kismet
recorded, find the radios that follow a person, map them and explain every score.

Each module registers its routes, commands or jobs on import; the list below is the domain.
"""

from flask import Blueprint

bp = Blueprint("wireless", __name__, url_prefix="/wireless")

from app.wireless import cli, cli_enrich, jobs, jobs_enrich, views_providers  # noqa: E402,F401
