"""`vigil roadmap ...` commands."""

from __future__ import annotations

import click

from app import audit
from app.models import db
from app.roadmap import library
from app.roadmap.blueprint import bp


@bp.cli.command("load-library")
def load_library() -> None:
    """Load (or refresh) the task library from data/roadmap/tasks.json."""
    count = library.load_library()
    audit.record("roadmap.library_loaded", resource_type="roadmap_task", actor_type="system",
                 actor_label="cli roadmap load-library", details={"tasks": count})
    db.session.commit()
    click.echo(f"{count} tasks loaded")
