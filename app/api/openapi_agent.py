"""The agent's request schemas in the OpenAPI document, and the rule that enforces them:
the agent endpoints keep only documented fields (`known_fields`), so what is stored is
exactly what is described here. Bounds match the columns the values are stored in."""

from __future__ import annotations

from typing import Any

from app.core.hygiene import BIGINT_MAX, INT_MAX
from app.models.fleet import CONTAINER_STATUSES, SERVICE_STATUSES

AGENT_MAX_BYTES = 256 * 1024  # a real heartbeat is 2-20 KB; 500 services at most is ~60 KB
FACTS_MAX_BYTES = 320 * 1024  # 256 KB of facts plus the envelope

UNKNOWN_FIELDS = ("Fields not described here are ignored: they are not stored, and the answer lists "
                  "them in `ignored`.")


def _int(high: int = INT_MAX, **extra: Any) -> dict[str, Any]:
    return {"type": "integer", "minimum": 0, "maximum": high, **extra}


def _num(high: float | None = None) -> dict[str, Any]:
    return {"type": "number", "minimum": 0, **({"maximum": high} if high is not None else {})}


def _text(max_len: int, min_len: int = 0) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_len, **({"minLength": min_len} if min_len else {})}


WHEN = {"type": "string", "format": "date-time"}

HEARTBEAT = {
    "type": "object", "required": ["cpu_percent", "ram_percent"],
    "description": "One heartbeat. `timestamp` must lie within 24 hours before and 5 minutes after the "
                   "server's time; the same device and timestamp twice is stored once (the second answer "
                   "says `duplicate`). Service and container names are unique within a heartbeat. "
                   + UNKNOWN_FIELDS,
    "properties": {
        "device_id": {"type": "integer", "description": "must be the key's own device"},
        "timestamp": WHEN,
        "uptime_seconds": _int(BIGINT_MAX), "cpu_percent": _num(100), "ram_percent": _num(100),
        "ram_used_gb": _num(), "ram_total_gb": _num(), "load_1m": _num(),
        "local_ip": {"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]},
        "failed_login_count_24h": _int(),
        "network": {"type": "object", "properties": {"rx_bytes_per_sec": _int(BIGINT_MAX),
                                                     "tx_bytes_per_sec": _int(BIGINT_MAX)}},
        "filesystems": {"type": "array", "maxItems": 500, "items": {
            "type": "object", "required": ["mount", "used_percent"], "properties": {
                "mount": _text(255, 1), "used_percent": _num(100), "size_gb": _num(), "used_gb": _num()}}},
        "services": {"type": "array", "maxItems": 500, "items": {
            "type": "object", "required": ["name", "status"], "properties": {
                "name": _text(100, 1), "status": {"enum": list(SERVICE_STATUSES)}, "enabled": {"type": "boolean"},
                "pid": _int(), "memory_mb": _int()}}},
        "containers": {"type": "array", "maxItems": 500, "items": {
            "type": "object", "required": ["name", "status"], "properties": {
                "name": _text(255, 1), "status": {"enum": list(CONTAINER_STATUSES)}, "id": _text(64),
                "image": {**_text(355), "description": "name:tag"}, "restarts": _int(),
                "cpu_percent": _num(), "mem_mb": _int(), "started_at": WHEN}}},
        "scanner_stats": {"type": "object", "properties": {
            **{name: _int() for name in ("tasks_total", "scans_running", "scans_queued", "scans_completed_24h",
                                         "nvt_count", "vulns_critical", "vulns_high", "vulns_medium",
                                         "vulns_low")},
            "feed_updated_at": WHEN, "last_scan_at": WHEN,
            "top_vulns": {"type": "array", "maxItems": 50, "items": {
                "type": "object", "required": ["cve"], "properties": {
                    "cve": {"type": "string", "pattern": r"^CVE-\d{4}-\d{4,7}$"},
                    "severity": _num(10), "affected_hosts": _int(), "title": _text(500)}}}}},
    },
}

HEARTBEAT_STORED = {"type": "object", "required": ["ok", "device_id"], "properties": {
    "ok": {"type": "boolean"}, "device_id": {"type": "integer"}, "duplicate": {"type": "boolean"},
    "received_at": {"type": "string", "format": "date-time"}, "heartbeat_interval": {"type": "integer"},
    "ignored": {"type": "array", "items": {"type": "string"}, "description": "undocumented fields dropped"}}}


def known_fields(value: Any, schema: dict[str, Any], path: str = "") -> tuple[Any, list[str]]:
    """`value` with only the properties `schema` describes (recursively through objects and
    arrays), and the paths of what was dropped. An object schema without `properties` is
    free-form (facts, a command's result) and kept whole."""
    dropped: list[str] = []
    properties = schema.get("properties")
    if isinstance(value, dict) and properties is not None:
        clean = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if key in properties:
                clean[key], inner = known_fields(item, properties[key], where)
                dropped.extend(inner)
            else:
                dropped.append(where)
        return clean, dropped
    items = schema.get("items")
    if isinstance(value, list) and isinstance(items, dict):
        clean_list = []
        for i, item in enumerate(value):
            kept, inner = known_fields(item, items, f"{path}[{i}]")
            clean_list.append(kept)
            dropped.extend(inner)
        return clean_list, dropped
    return value, dropped


def _failed_needs_error(schema: dict[str, Any]) -> dict[str, Any]:
    """A report with status "failed" must say why (`error`)."""
    return {**schema, "if": {"properties": {"status": {"const": "failed"}}, "required": ["status"]},
            "then": {"required": ["error"], "properties": {"error": {"minLength": 1}}}}


RESTORE_TEST = {
    "type": "object", "required": ["snapshot_id", "result", "files_checked"],
    "description": "The outcome of a restore test the agent ran (a sample of files restored and checksummed).",
    "properties": {
        "snapshot_id": _text(255, 1), "result": {"enum": ["passed", "failed"]},
        "files_checked": _int(10 ** 6), "duration_seconds": _int(10 ** 8), "error": _text(5000),
        "command_id": {"type": "integer", "minimum": 1, "maximum": INT_MAX}}}

ENROLMENT = {
    "type": "object", "required": ["claim_code", "hostname", "facts", "wireguard_public_key"], "properties": {
        "claim_code": _text(64, 1), "hostname": _text(255, 1),
        "wireguard_public_key": {"type": "string", "pattern": "^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$",
                                 "description": "base64, 32 bytes"},
        "facts": {"type": "object", "required": ["cpu_model", "cores", "ram_mb", "disk_gb", "mac_addresses", "serial"],
                  "properties": {
                      "cpu_model": _text(255, 1), "serial": _text(255, 1), "os": _text(100), "kernel": _text(100),
                      "cores": {"type": "integer", "minimum": 1, "maximum": 4096},
                      "ram_mb": {"type": "integer", "minimum": 1, "maximum": 1 << 24},
                      "disk_gb": {"type": "integer", "minimum": 1, "maximum": 1 << 20},
                      "mac_addresses": {"type": "array", "minItems": 1, "maxItems": 64, "items": {
                          "type": "string", "pattern": "^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$"}}}}}}

FACTS = {
    "type": "object", "required": ["facts"],
    "description": "`collected_at` must lie within 24 hours before and 5 minutes after the server's time.",
    "properties": {
        "device_id": {"type": "integer", "description": "must be the key's own device"},
        "collected_at": WHEN,
        "facts": {"type": "object", "minProperties": 1, "propertyNames": {"minLength": 1, "maxLength": 200},
                  "description": "any JSON object up to 256 KB, nested at most 8 levels, keys of 1 to 200 "
                                 "characters at every level: hostname, os, cpu, memory, disks, network_interfaces, "
                                 "installed_packages, docker_version, greenbone_version..."}}}

COMMAND_RESULT = _failed_needs_error({
    "type": "object", "required": ["status"], "properties": {
        "status": {"enum": ["in_progress", "completed", "failed"]},
        "result": {"type": "object", "description": "at most 64 KB as JSON"},
        "error": {**_text(5000), "description": "required when failed"}}})

BACKUP_REPORT = _failed_needs_error({
    "type": "object", "required": ["snapshot_id", "backup_type", "storage_path", "status", "started_at"],
    "description": "`completed_at` is not before `started_at`; `command_id` is a run_backup command of this device.",
    "properties": {
        "snapshot_id": _text(255, 1), "snapshot_name": _text(255), "backup_type": {"enum": ["file", "full_disk"]},
        "replaces_snapshot_id": {**_text(255), "description": "the provisional id an in-progress report used; "
                                 "the run's row takes the final snapshot_id"},
        "backup_method": _text(50), "storage_path": _text(2000, 1), "size_bytes": _int(1 << 62),
        "compressed_size_bytes": _int(1 << 62), "encrypted": {"type": "boolean"},
        "encryption_key_id": _text(100), "status": {"enum": ["in_progress", "completed", "failed"]},
        "started_at": WHEN, "completed_at": WHEN, "duration_seconds": _int(10 ** 8), "file_count": _int(),
        "error": _text(5000), "logs": _text(100_000),
        "command_id": {"type": "integer", "minimum": 1, "maximum": INT_MAX,
                       "description": "the run_backup command it answers"}}})
