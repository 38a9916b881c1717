"""The OpenAPI 3.1 document of /api, written by hand next to the code it describes."""

from __future__ import annotations

from typing import Any

from app.api.openapi_agent import (
    BACKUP_REPORT,
    COMMAND_RESULT,
    ENROLMENT,
    FACTS,
    HEARTBEAT,
    HEARTBEAT_STORED,
    RESTORE_TEST,
    UNKNOWN_FIELDS,
)
from app.api.openapi_registry import add_registered
from app.core.hygiene import INT_MAX
from app.models.fleet import DEVICE_SCOPES
from app.scopes import all_scopes


def _error() -> dict[str, Any]:
    return {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _list(item: str) -> dict[str, Any]:
    return {"description": "OK", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}}}}}}}


LIMIT = {"name": "limit", "in": "query", "description": "a whole number from 1 to 500; anything else is a 422",
         "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}}


def _get(summary: str, scope: str, item: str, *extra: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"summary": summary, "security": [{"bearer": [scope]}], "parameters": [LIMIT, *extra],
                    "responses": {"200": _list(item), "401": _error(), "403": _error(), "422": _error()}}}


SIGN_IN_LIMITED = {**_error(), "description": "Too many sign-in attempts from this address or for this account, "
                                             "or the address is blocked: the sign-in form's limiter and lockout "
                                             "apply here too"}
RETRY_AFTER = {"Retry-After": {"description": "seconds until the block ends", "schema": {"type": "integer"}}}


def with_shared_responses(doc: dict[str, Any]) -> dict[str, Any]:
    """Answers every operation can get from the shared layers, documented once: the input
    hygiene layer (400), the body limits (413), the rate limiter (429 with Retry-After),
    sign-in (401) and an unknown id in the path (404)."""
    for path, item in doc["paths"].items():
        for operation in item.values():
            responses = operation["responses"]
            responses.setdefault("400", {**_error(), "description": "A NUL byte, a lone surrogate, JSON nested too "
                                                                  "deep, or a number that is not finite"})
            # An operation may say why it is limited (the credential endpoints); the header is shared.
            responses["429"] = {**_error(), "description": responses.get("429", {}).get("description", "Rate limited"),
                                "headers": RETRY_AFTER}
            if "requestBody" in operation:
                responses.setdefault("413", {**_error(), "description": "The body is over the endpoint's limit"})
                responses.setdefault("422", _error())
            if operation.get("security") != []:
                responses.setdefault("401", _error())
            if "{" in path:
                responses.setdefault("404", _error())
    return doc


def spec() -> dict[str, Any]:
    return with_shared_responses(add_registered(_document()))


def _document() -> dict[str, Any]:
    tokens = {"$ref": "#/components/schemas/Tokens"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Vigil API", "version": "1",
                 "description": "Integrations authenticate with an API key (`Authorization: Bearer vgl_...`) or "
                                "with an access token from /api/auth/token. Access tokens last 15 minutes; "
                                "refresh tokens rotate on every use, and presenting a used one revokes its family. "
                                "Agent endpoints (/agent/*): bodies up to 256 KB (facts 320 KB; 413 above). "
                                + UNKNOWN_FIELDS + " Any JSON body is at most 1 MB and nested at most 32 levels; "
                                "NUL bytes and lone surrogates are refused (400) everywhere."},
        "servers": [{"url": "/api"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "Scopes: " + ", ".join(all_scopes())
                                           + "; device keys: " + ", ".join(DEVICE_SCOPES)}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                   "fields": {"type": "object"}}}}},
                "Tokens": {"type": "object", "properties": {
                    "access_token": {"type": "string"}, "token_type": {"const": "Bearer"},
                    "expires_in": {"type": "integer"}, "refresh_token": {"type": "string"}}},
                "SecurityEvent": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "type": {"type": "string"}, "severity": {"type": "string"},
                    "user_id": {"type": ["integer", "null"]}, "email": {"type": ["string", "null"]},
                    "ip_address": {"type": ["string", "null"]}, "risk_score": {"type": "number"},
                    "risk_factors": {"type": "object"}, "action": {"type": "string"},
                    "created_at": {"type": "string", "format": "date-time"}}},
                "Threat": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "type": {"type": "string"}, "severity": {"type": "string"},
                    "status": {"type": "string"}, "confidence": {"type": "number"},
                    "indicators": {"type": "array", "items": {"type": "string"}},
                    "response_action": {"type": "string"}, "response_status": {"type": "string"},
                    "occurrences": {"type": "integer"}, "last_detected_at": {"type": "string", "format": "date-time"}}},
                "Enrolment": ENROLMENT,
                "Enrolled": {"type": "object", "properties": {
                    "device_id": {"type": "integer"}, "api_key": {"type": "string", "description": "shown once"},
                    "heartbeat_interval": {"type": "integer"}, "overlay_ip": {"type": "string"},
                    "wireguard_config": {"type": "string"},
                    "command_public_key": {"type": "string", "description": "Ed25519, base64 raw 32 bytes"},
                    "ignored": {"type": "array", "items": {"type": "string"}}}},
                "Heartbeat": HEARTBEAT,
                "HeartbeatStored": HEARTBEAT_STORED,
                "Facts": FACTS,
                "Command": {"type": "object", "description":
                            "Verify `signature` (Ed25519, base64) over the canonical JSON of the other six fields "
                            "(sorted keys, no whitespace, UTF-8) with the key from enrolment; refuse it when expired "
                            "or when its nonce was seen before.", "properties": {
                    "id": {"type": "integer"}, "device_id": {"type": "integer"}, "type": {"type": "string"},
                    "payload": {"type": "object"}, "expires_at": {"type": "string", "format": "date-time"},
                    "nonce": {"type": "string"}, "signature": {"type": "string"}}},
                "CommandResult": COMMAND_RESULT,
                "BackupReport": BACKUP_REPORT,
                "RestoreTest": RESTORE_TEST,
                "Indicator": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "type": {"type": "string"}, "value": {"type": "string"},
                    "severity": {"type": "string"}, "confidence": {"type": "number"}, "tlp": {"type": "string"},
                    "source": {"type": "string"}, "is_active": {"type": "boolean"}, "sightings": {"type": "integer"},
                    "last_seen": {"type": "string", "format": "date-time"}}},
            },
        },
        "paths": {
            "/auth/token": {"post": {
                "summary": "Sign in for tokens", "security": [],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["email", "password"],
                    "properties": {"email": {"type": "string", "minLength": 1},
                                   "password": {"type": "string", "minLength": 1},
                                   "code": {"type": "string", "description": "TOTP or backup code when MFA is on"}}}}}},
                "responses": {"200": {"description": "Tokens", "content": {"application/json": {"schema": tokens}}},
                              "401": _error(), "403": _error(), "422": _error(), "429": SIGN_IN_LIMITED}}},
            "/auth/refresh": {"post": {
                "summary": "Rotate a refresh token", "security": [],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["refresh_token"],
                    "properties": {"refresh_token": {"type": "string", "minLength": 1}}}}}},
                "responses": {"200": {"description": "New tokens", "content": {"application/json": {"schema": tokens}}},
                              "401": _error(), "422": _error()}}},
            "/auth/revoke": {"post": {
                "summary": "Revoke a token family", "security": [],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["refresh_token"],
                    "properties": {"refresh_token": {"type": "string", "minLength": 1}}}}}},
                "responses": {"200": {"description": "Revoked"}, "404": _error()}}},
            "/me": {"get": {"summary": "The credential's user, organization and scopes", "security": [{"bearer": []}],
                            "responses": {"200": {"description": "OK"}, "401": _error()}}},
            "/security-events": _get("Security events, newest first", "events:read", "SecurityEvent", {
                "name": "since_id", "in": "query", "description": "only events with a larger id (to page forward)",
                "schema": {"type": "integer", "minimum": 0, "maximum": INT_MAX}}),
            "/threats": _get("Detected threats", "threats:read", "Threat"),
            "/intel": {**_get("Indicators of compromise", "intel:read", "Indicator"), "post": {
                "summary": "Add or renew an indicator", "security": [{"bearer": ["intel:write"]}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["type", "value"],
                    "description": "`value` must be a valid value of its `type`; values on the organization's "
                                   "allowlist (private addresses, its own domains) are refused with 422.",
                    "properties": {"type": {"enum": ["ip", "cidr", "domain", "url", "email", "md5", "sha1", "sha256"]},
                                   "value": {"type": "string", "minLength": 1, "maxLength": 500},
                                   "severity": {"enum": ["low", "medium", "high", "critical"]},
                                   "confidence": {"type": "number", "minimum": 0, "maximum": 100},
                                   "source": {"type": "string", "maxLength": 100},
                                   "description": {"type": "string", "maxLength": 10000}}}}}},
                "responses": {"201": {"description": "Created", "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/Indicator"}}}}, "200": {"description": "Renewed"},
                    "401": _error(), "403": _error(), "422": _error()}}},
            "/agent/enrol": {"post": {
                "summary": "Enrol a fleet device with its one-time claim code", "security": [],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/Enrolment"}}}},
                "responses": {"201": {"description": "Enrolled", "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/Enrolled"}}}},
                    "401": _error(), "409": _error(), "422": _error()}}},
            "/agent/heartbeat": {"post": {
                "summary": "Report a device's health (every heartbeat_interval seconds)",
                "security": [{"bearer": ["heartbeat"]}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/Heartbeat"}}}},
                "responses": {"202": {"description": "Stored", "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/HeartbeatStored"}}}},
                              "200": {"description": "A duplicate (same device and timestamp): not stored again",
                                      "content": {"application/json": {"schema": {
                                          "$ref": "#/components/schemas/HeartbeatStored"}}}},
                              "401": _error(), "403": _error(), "422": _error()}}},
            "/agent/facts": {"post": {
                "summary": "Send an inventory snapshot of the key's own device (the newest 30 are kept)",
                "security": [{"bearer": ["facts"]}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/Facts"}}}},
                "responses": {"201": {"description": "Stored; counts of added, removed and changed keys"},
                              "401": _error(), "403": _error(), "422": _error()}}},
            "/agent/commands": {"get": {
                "summary": "Poll the device's pending, approved, unexpired signed commands",
                "security": [{"bearer": ["commands"]}],
                "responses": {"200": {"description": "Commands", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"public_key": {"type": "string"}, "commands": {
                        "type": "array", "items": {"$ref": "#/components/schemas/Command"}}}}}}},
                    "401": _error(), "403": _error()}}},
            "/agent/commands/{command_id}/result": {"post": {
                "summary": "Report a command in progress, completed or failed (only the device's own)",
                "security": [{"bearer": ["commands"]}],
                "parameters": [{"name": "command_id", "in": "path", "required": True,
                                "schema": {"type": "integer", "minimum": 1, "maximum": INT_MAX}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/CommandResult"}}}},
                "responses": {"200": {"description": "Recorded"}, "401": _error(), "403": _error(),
                              "404": _error(), "409": _error(), "422": _error()}}},
            "/agent/backups": {"post": {
                "summary": "Report a backup snapshot (upserted by snapshot_id)",
                "security": [{"bearer": ["backups"]}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/BackupReport"}}}},
                "responses": {"201": {"description": "Stored"}, "401": _error(), "403": _error(),
                              "409": _error(), "422": _error()}}},
            "/agent/backups/restore-test": {"post": {
                "summary": "Report the outcome of a restore test the agent ran",
                "security": [{"bearer": ["backups"]}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/RestoreTest"}}}},
                "responses": {"200": {"description": "Recorded"}, "401": _error(), "403": _error(),
                              "404": _error(), "422": _error()}}},
        },
    }
