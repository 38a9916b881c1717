"""Fleet operations (seed 002): device inventory, enrolment, heartbeats, subscriptions.

The agent's endpoints live on the JSON API (`app/api/agent.py`); they call the same
services as these pages.
"""

from flask import Blueprint

bp = Blueprint("fleet", __name__, url_prefix="/fleet")

from app.fleet import cli, jobs, views, views_ops  # noqa: E402,F401
