"""The registered resources' part of the OpenAPI document, generated from app.apiregistry.registry:
registering a resource documents it (path ids, query, body, answer, scope and errors)."""

from __future__ import annotations

from typing import Any

from app.apiregistry.registry import RESOURCES, SCHEMAS, Resource, path_params
from app.core.hygiene import INT_MAX
from app.scopes import SCOPES


def error() -> dict[str, Any]:
    return {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def operation(entry: Resource) -> dict[str, Any]:
    ids = [{"name": name, "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": INT_MAX}} for name in path_params(entry.path)]
    permission = SCOPES.get(entry.scope)
    description = entry.description or (entry.handler.__doc__ or "").strip()
    if permission:
        description += f" Needs the scope `{entry.scope}`, and the key's user a role with `{permission}`."
    op: dict[str, Any] = {
        "summary": entry.summary, "description": description.strip(), "tags": [entry.tag],
        "operationId": f"{entry.tag}_{entry.handler.__name__}", "security": [{"bearer": [entry.scope]}],
        "parameters": [*ids, *entry.query],
        "responses": {str(entry.status): {"description": "OK", "content": {"application/json": {
            "schema": entry.response}}}, "401": error(), "403": error(), "422": error()},
    }
    for status in entry.errors:
        op["responses"][str(status)] = error()
    if ids:
        op["responses"]["404"] = error()
    if entry.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": entry.body}}}
    if entry.form is not None:
        op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": entry.form}}}
    return op


def add_registered(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with every registered resource and shared schema added."""
    doc["components"]["schemas"].update(SCHEMAS)
    for entry in RESOURCES.values():
        doc["paths"].setdefault(entry.path, {})[entry.method.lower()] = operation(entry)
    return doc
