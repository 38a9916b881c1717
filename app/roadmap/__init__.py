"""Security roadmap (seed 001, issue 16): a profile per organization, a task library,
tasks generated from the profile and from real findings, phases, a capped score,
achievements and progress history.

Each module registers its routes, commands or jobs on import; the list below is the domain.
"""

from app.core.navigation import register_section
from app.roadmap.blueprint import bp as bp  # the app factory registers app.roadmap.bp

register_section("roadmap", "Roadmap", 61, [
    ("roadmap.board", "signpost-split", "Roadmap", "roadmap.view"),
    ("roadmap.achievements_page", "trophy", "Achievements", "roadmap.view"),
])

from app.roadmap import cli, demo, jobs, live, reports, search, views  # noqa: E402,F401
