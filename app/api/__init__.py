"""The JSON API for integrations and agents: bearer API keys or access tokens, OpenAPI spec."""

from app.api import agent, agent_facts, agent_ops, views  # noqa: F401  (registers routes)
from app.api.blueprint import bp
from app.api.routes import load_domain_resources

# Each domain's JSON resources live in its own `app/<domain>/api.py`; the API (the layer
# above the domains) loads them by that convention, so a domain package never imports the
# API layer at its own import time and a new domain needs no edit here.
load_domain_resources()
from app.api.auth import authenticate  # noqa: E402
from app.core.guard import register_authenticator  # noqa: E402

register_authenticator(bp.name, authenticate)  # bearer credentials, never the browser session
