"""Canary tokens (seed 001, NERVE's BAIT; issue 22): bait that fires when touched, who
touched it, throttled alerts, and the intruder's address followed across Vigil.

Two blueprints: `bait` (the console pages under /bait) and `bait_honeypot` (the public
endpoints the bait points at, under /c; app/bait/honeypot.py), registered with the console
one. Each module registers its routes, commands, rules or places on import.
"""

from app.bait.blueprint import bp
from app.core.navigation import register_section

register_section("bait", "Canary tokens", 58, [
    ("bait.index", "bug", "Tokens", "data.read"),
    ("bait.new", "plus-circle", "New token", "threats.manage"),
    ("bait.providers", "cloud-upload", "Publishing", "org.edit_own"),
])

from app.bait import alert_rules, cli, demo, intel_places, jobs, reports, search, views, views_seed  # noqa: E402,F401
from app.bait.honeypot import bait_host_only, honeypot  # noqa: E402


@bp.record_once
def register_honeypot(state) -> None:
    """The honeypot is its own blueprint; it comes with the console's. Its host check goes
    first among the app's before-request hooks, ahead of the sign-in guard's redirect."""
    state.app.register_blueprint(honeypot)
    state.app.before_request_funcs.setdefault(None, []).insert(0, bait_host_only)
