"""Validating a registered resource's query string and JSON body against its own schemas.

The schemas the registry documents are the ones checked here, so the OpenAPI document and
the answers cannot drift apart. Only the subset resources use is supported: objects of
strings (enum, length), integers and numbers (bounds), booleans, nullable fields and arrays
of those (item count bounds), and a multipart form of such fields with file parts; anything
outside it is refused with 422 and a message naming the field."""

from __future__ import annotations

from typing import Any

from flask import abort, request
from werkzeug.datastructures import FileStorage

from app.apiregistry.auth import api_error


def invalid(name: str, message: str) -> None:
    abort(api_error(422, "validation_error", f"{name}: {message}", fields={name: message}))


def types_of(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    if kind is None:
        return {"string"} if "enum" in schema and all(isinstance(v, str) for v in schema["enum"]) else set()
    return set(kind) if isinstance(kind, list) else {kind}


def check_value(name: str, schema: dict[str, Any], value: Any) -> Any:
    """`value` if it fits `schema`; otherwise the request ends with a 422."""
    kinds = types_of(schema)
    if value is None:
        if "null" in kinds:
            return None
        invalid(name, "must not be null")
    if "enum" in schema and value not in schema["enum"]:
        invalid(name, "must be one of " + ", ".join(map(str, schema["enum"])))
    if "boolean" in kinds and isinstance(value, bool):
        return value
    if kinds & {"integer", "number"} and isinstance(value, int | float) and not isinstance(value, bool):
        if "integer" in kinds and "number" not in kinds and not float(value).is_integer():
            invalid(name, "must be a whole number")
        if not schema.get("minimum", float("-inf")) <= value <= schema.get("maximum", float("inf")):
            invalid(name, f"must be from {schema.get('minimum')} to {schema.get('maximum')}")
        return int(value) if "integer" in kinds and "number" not in kinds else value
    if "array" in kinds and isinstance(value, list):
        if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", 1000):
            invalid(name, f"must have {schema.get('minItems', 0)} to {schema.get('maxItems', 1000)} items")
        return [check_value(f"{name}[{i}]", schema.get("items", {}), item) for i, item in enumerate(value)]
    if "string" in kinds and isinstance(value, str):
        if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", 10_000):
            invalid(name, f"must be {schema.get('minLength', 0)} to {schema.get('maxLength', 10_000)} characters")
        return value
    if "enum" in schema:
        return value
    invalid(name, "has the wrong type (" + " or ".join(sorted(kinds)) + ")")
    return None


def query_value(param: dict[str, Any], raw: str) -> Any:
    schema = param["schema"]
    kinds = types_of(schema)
    if kinds & {"integer", "number"}:
        try:
            number = int(raw) if len(raw) <= 20 else None
        except ValueError:
            number = None
        if number is None:
            invalid(param["name"], "must be a whole number")
        return check_value(param["name"], schema, number)
    if "boolean" in kinds:
        if raw not in ("true", "false"):
            invalid(param["name"], "must be true or false")
        return raw == "true"
    return check_value(param["name"], schema, raw)


def check_query(params: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    """The documented query parameters, parsed; a bad one is a 422."""
    values = {}
    for param in params:
        raw = request.args.get(param["name"])
        if raw is not None and raw != "":
            values[param["name"]] = query_value(param, raw)
        elif param.get("required"):
            invalid(param["name"], "is required")
    return values


def check_body(schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON object body, checked field by field against `schema`; unknown fields are refused."""
    data = request.get_json(silent=True)
    if data is None and not request.data:
        data = {}
    if not isinstance(data, dict):
        invalid("body", "must be a JSON object")
    properties = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in data:
            invalid(name, "is required")
    unknown = sorted(set(data) - set(properties))
    if unknown:
        invalid(unknown[0][:100], "is not a field of this resource")
    return {name: check_value(name, properties[name], value) for name, value in data.items()}


def is_file(schema: dict[str, Any]) -> bool:
    return schema.get("format") == "binary"


def check_form(schema: dict[str, Any]) -> dict[str, Any]:
    """A multipart form checked against `schema`: file parts (format binary) as FileStorage,
    other fields parsed like query values; unknown fields and missing required ones are 422."""
    if not request.mimetype.startswith("multipart/form-data"):
        invalid("body", "must be multipart/form-data")
    properties = schema.get("properties", {})
    unknown = sorted((set(request.form) | set(request.files)) - set(properties))
    if unknown:
        invalid(unknown[0][:100], "is not a field of this resource")
    values: dict[str, Any] = {}
    for name, field_schema in properties.items():
        if is_file(field_schema):
            upload: FileStorage | None = request.files.get(name)
            if upload is not None:
                values[name] = upload
        elif name in request.files:
            invalid(name, "must be a form field, not a file")
        elif request.form.get(name, "") != "":
            values[name] = query_value({"name": name, "schema": field_schema}, request.form[name])
    for name in schema.get("required", []):
        if name not in values:
            invalid(name, "is required")
    return values
