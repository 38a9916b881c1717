"""The `vigil` command: the Flask CLI with Vigil's help, over the app the factory builds.

The commands themselves live in app/commands.py and are registered by the factory; this
module only wraps Flask's group for the console script (pyproject: `vigil = "app.cli:main"`).
The factory does not import this module: it depends on the factory, not the other way round.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import click
from flask.cli import FlaskGroup

from app import create_app

HELP = """Vigil security-operations console.

\b
Start here:  vigil serve   (migrates, loads demo data on first start, runs the
                            embedded job worker and serves the console)
Production:  gunicorn wsgi:app + vigil worker + vigil scheduler
             (docs/deployment.md)
"""
# Flask's own options (app import path, .env file, debug switch, Flask's version) and its bare
# development server (`run`: no migrations, no job worker) do not apply to Vigil: they still
# work, but `vigil --help` does not offer them.
HIDDEN_OPTIONS = ("env_file", "app", "debug", "version")
HIDDEN_COMMANDS = ("run",)


class VigilGroup(FlaskGroup):
    """Flask's CLI group with Vigil's help: what to start with, without Flask's generic parts."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.params = [_hidden(p) if p.name in HIDDEN_OPTIONS else p for p in self.params]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is not None and name in HIDDEN_COMMANDS and not command.hidden:
            command = copy.copy(command)
            command.hidden = True
        return command


def _hidden(param: click.Parameter) -> click.Parameter:
    hidden = copy.copy(param)  # Flask's option objects are shared module globals
    hidden.hidden = True  # type: ignore[attr-defined]
    return hidden


def main() -> None:
    """Entry point of the `vigil` console script."""
    os.environ.setdefault("FLASK_APP", "app:create_app")
    VigilGroup(create_app=create_app, help=HELP)(prog_name="vigil")
