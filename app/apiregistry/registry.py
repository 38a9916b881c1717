"""The API resource registry: each domain registers its JSON resources from its own package.

A domain's `app/<domain>/api.py` (loaded by the API package, app/api/routes.py) calls
`register_scope` for each scope it introduces and `resource(...)` for each operation: path,
method, scope, handler and the JSON schemas of its query, body and answer. The API reads
this registry: `routes_to` hands it every resource (registered before or after) to add to
the api blueprint, and the OpenAPI document (app/api/openapi_registry.py) is generated from
it, so a resource is documented by registering it. The wrapper here holds what every
resource shares: the scope check (and the scope's permission for the key's user),
validation of the documented query and body (422), one commit per request, and JSON errors.

The registry sits below the domains (issue 21): nothing here imports the API layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import abort, g, request

from app.apiregistry.auth import api_error, principal
from app.apiregistry.validation import check_body, check_form, check_query
from app.core.hygiene import INT_MAX
from app.models import db
from app.models.api import API_SCOPES
from app.scopes import SCOPES, holds, register_scope

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
__all__ = ["register_scope"]  # domains register their scopes and resources through this module


@dataclass(frozen=True)
class Resource:
    path: str  # OpenAPI form, relative to /api: "/wireless/networks/{network_id}"
    method: str
    scope: str
    handler: Callable[..., Any]
    summary: str
    response: dict[str, Any]  # JSON schema of the success body
    tag: str
    query: tuple[dict[str, Any], ...] = ()  # OpenAPI query parameter objects
    body: dict[str, Any] | None = None  # JSON schema of the request body
    status: int = 200
    errors: tuple[int, ...] = ()  # further documented answers, e.g. 409
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    form: dict[str, Any] | None = None  # JSON schema of a multipart/form-data body (file uploads)
    max_bytes: Callable[[], int] | None = None  # the body limit of an upload (read per request)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


RESOURCES: dict[str, Resource] = {}
SCHEMAS: dict[str, dict[str, Any]] = {}  # shared component schemas registered by domains
ROUTERS: list[Callable[[Resource], None]] = []  # the API's route adders (routes_to)


def register_schema(name: str, schema: dict[str, Any]) -> dict[str, str]:
    """A named component schema; returns the $ref to use in resources."""
    SCHEMAS[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


def routes_to(add: Callable[[Resource], None]) -> None:
    """Call `add(entry)` for every resource registered so far and every later one (the API
    adds each one's route to its blueprint)."""
    ROUTERS.append(add)
    for entry in list(RESOURCES.values()):
        add(entry)


def endpoint_name(entry: Resource) -> str:
    """The Flask endpoint of a resource's route (inside the api blueprint)."""
    path = entry.path.replace("/", "_").replace("{", "").replace("}", "").replace("-", "_")
    return "r_" + entry.method.lower() + path


def flask_rule(path: str) -> str:
    """`/a/{x_id}` -> `/a/<int:x_id>`: every path parameter of a resource is an id."""
    return path.replace("{", "<int:").replace("}", ">")


def path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def resource(path: str, method: str, scope: str, summary: str, response: dict[str, Any], *, tag: str,
             query: tuple[dict[str, Any], ...] = (), body: dict[str, Any] | None = None, status: int = 200,
             errors: tuple[int, ...] = (), description: str = "", form: dict[str, Any] | None = None,
             max_bytes: Callable[[], int] | None = None) -> Callable:
    """Decorator: register `handler(q, data, **path_ids)` as `method path`: `q` is the parsed
    documented query, `data` the checked JSON body, or the checked multipart `form` (file
    parts as FileStorage; `max_bytes` its size limit), None without either. It returns the
    answer's JSON (a dict) and may end the request early with `problem(...)`."""
    if scope not in SCOPES and scope not in API_SCOPES:
        raise KeyError(f"unknown scope {scope!r}: register_scope it first")
    if method not in METHODS:
        raise ValueError(method)
    if body is not None and form is not None:
        raise ValueError("a resource takes a JSON body or a form, not both")

    def decorator(handler: Callable[..., Any]) -> Callable[..., Any]:
        entry = Resource(path, method, scope, handler, summary, response, tag, tuple(query), body, status,
                         tuple(errors), description, form=form, max_bytes=max_bytes)
        if entry.label in RESOURCES:
            return handler  # the module was imported again (tests reloading); the route exists
        RESOURCES[entry.label] = entry
        for add in ROUTERS:
            add(entry)
        return handler

    return decorator


def dispatcher(entry: Resource) -> Callable[..., Any]:
    @wraps(entry.handler)
    def view(**ids: Any):
        p = principal()
        if not holds(p.scopes, entry.scope, p.user):
            return api_error(403, "insufficient_scope", f"This credential lacks the scope {entry.scope!r}.")
        act_as(p)
        if any(value > INT_MAX for value in ids.values()):  # past every id column: no such row
            not_found()
        q = check_query(entry.query)
        data = check_body(entry.body) if entry.body is not None else check_form(entry.form) if entry.form else None
        answer = entry.handler(q=q, data=data, **ids)
        db.session.commit()  # the write, and the API key's usage counters
        return answer, entry.status

    view.required_scope = entry.scope  # type: ignore[attr-defined]
    view.__doc__ = entry.handler.__doc__ or entry.summary
    return view


def act_as(p: Any) -> None:
    """For this request, the services a resource calls see the key's user and organization
    as the signed-in ones (audit.record's actor and org, tenancy.current_org_id), without a
    session: flask-login reads the request's user from g, and no cookie is written."""
    g._login_user = p.user  # flask-login's per-request user
    g.current_org_id = p.org_id


def problem(status: int, code: str, message: str, **extra: Any):
    """End the request with a JSON error (a 4xx the resource documents)."""
    db.session.rollback()
    abort(api_error(status, code, message, **extra))


def not_found(what: str = "object") -> None:
    problem(404, "not_found", f"No such {what} in this organization.")


def owned(model: type, ident: int, what: str | None = None) -> Any:
    """The row `ident` of the credential's organization; another organization's id is a 404."""
    row = db.session.get(model, ident)
    if row is None or getattr(row, "org_id", None) != principal().org_id or getattr(row, "deleted_at", None):
        not_found(what or model.__name__.lower())
    return row


def actor() -> Any:
    """Who a write is audited as: the key's or token's user."""
    return principal().user


def arg(name: str) -> str | None:
    value = request.args.get(name)
    return value if value not in (None, "") else None
