"""`vigil wireless ...` commands (each module of the domain adds its own to this group)."""

from __future__ import annotations

from flask.cli import AppGroup

wireless_cli = AppGroup("wireless", help="Wireless surveillance detection: imports, scoring, places.")
