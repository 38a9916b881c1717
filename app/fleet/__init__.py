"""Fleet operations (seed 002): device inventory, enrolment, heartbeats, subscriptions.

The agent's endpoints live on the JSON API (`app/api/agent.py`); they call the same
services as these pages.
"""

from flask import Blueprint

bp = Blueprint("fleet", __name__, url_prefix="/fleet")

from app.fleet import (  # noqa: E402,F401
    cli,
    cli_alerts,
    demo,
    jobs,
    views,
    views_alerts,
    views_dashboard,
    views_device,
    views_facts,
    views_inventory,
    views_ops,
    views_rules,
)
