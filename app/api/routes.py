"""The API reads the resource registry (app/apiregistry/registry.py): it loads every
domain's `app/<domain>/api.py` and adds each registered resource's route to the api
blueprint. The API sits above the domains, so it may import them; a domain registers its
resources without importing the API.

The api blueprint is last in app.BLUEPRINTS, so every domain package is already loaded;
registering a route after the blueprint is registered on the app fails loudly in Flask.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from pathlib import Path
from typing import Any

from flask import request

from app.api.blueprint import bp
from app.apiregistry.registry import Resource, dispatcher, endpoint_name, flask_rule, routes_to

APP_DIR = Path(__file__).resolve().parent.parent  # the app package's folder
RESOURCE_MODULE = "api"  # app/<domain>/api.py: a domain's JSON resources, by convention


ENDPOINTS: dict[str, Resource] = {}  # the api blueprint's endpoint name -> its resource


def add_route(entry: Resource) -> None:
    ENDPOINTS[f"{bp.name}.{endpoint_name(entry)}"] = entry
    bp.add_url_rule(flask_rule(entry.path), endpoint_name(entry), dispatcher(entry), methods=[entry.method])


@bp.url_value_preprocessor
def upload_limit(endpoint: str | None, _values: Any) -> None:
    """An upload's own size limit, set before anything parses the body (as the upload pages do)."""
    entry = ENDPOINTS.get(endpoint or "")
    if entry is not None and entry.max_bytes is not None:
        request.max_content_length = entry.max_bytes()


def load_domain_resources() -> list[str]:
    """Route every registered resource, then import every `app.<package>.api` module there is
    (a domain's resources register on import); returns their names."""
    routes_to(add_route)
    loaded = []
    for info in sorted(pkgutil.iter_modules([str(APP_DIR)]), key=lambda i: i.name):
        name = f"app.{info.name}.{RESOURCE_MODULE}"
        if info.ispkg and info.name not in ("api", "apiregistry", "models") and importlib.util.find_spec(name):
            importlib.import_module(name)
            loaded.append(name)
    return loaded
