"""The heartbeat's fast path on PostgreSQL: one statement, no ORM.

An agent sends a heartbeat every minute, and almost all of them change nothing but
numbers: the same address, the same service statuses, no alert crossing a threshold. For
those, one data-modifying statement (a chain of CTEs) confirms the cached device key and
counts its use, locks the device, checks that nothing of its state changes, and stores the
heartbeat, the device's liveness, services, containers, scanner stats and 5-minute
rollups; the same statement returns the device's alert-rule states and its organization's
rules version. The value rules (served from a per-process cache, app/alerting/rule_cache.py)
are then run in Python against those states: when they would write nothing, nothing else
is read or written.

The statement runs alone in autocommit when the request has not opened a transaction yet (a
cached key: the usual case), so it costs one round trip, not three (BEGIN, it, COMMIT); a
single statement is atomic on its own. Every write in it depends on the guard's row, so when
it falls back it wrote nothing, the key's usage count included (the full path counts it).

Everything else takes the full path (app/fleet/ingest.py through the ORM, unchanged), after
the fast statement wrote nothing (and, inside a transaction, was rolled back):

- the key is revoked or expired, the device is out of service, removed or moved, or the key
  is used from a new address (the full path matches the address against threat intel);
- the device's public or local address changes, or it comes back (pending, offline);
- a service appears or changes status (audited by the full path);
- a heartbeat of that timestamp is already stored (the full path answers "duplicate");
- another transaction changed the device row after this statement's snapshot was taken (the
  statement waited for its lock): the states it read could be stale.

The fast path does not publish "fleet.heartbeat_stored": its only subscriber is
alert_rules.on_heartbeat, which is called here directly when the cached rules say it has
something to do. A new subscriber of that event must be called here too.

When the rules would decide something (a threshold crossed, a pending condition, a firing
alert's numbers moving), on_heartbeat runs as it always has, on top of the stored heartbeat:
in the same transaction, or, when the statement committed on its own, in a new transaction
that locks the device first (so rule steps of one device still run one at a time; the
heartbeat is then already stored when they run).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa

from app.fleet import alert_rules
from app.fleet.ingest import bucket_start
from app.models import Device, db
from app.models.fleet import ROLLUP_METRICS, SERVICE_STATUSES

# scanner_stats columns with their value when the agent leaves them out (the model's defaults).
SCANNER_COLUMNS = (("tasks_total", "integer", 0), ("scans_running", "integer", 0), ("scans_queued", "integer", 0),
                   ("scans_completed_24h", "integer", 0), ("nvt_count", "integer", None),
                   ("vulns_critical", "integer", 0), ("vulns_high", "integer", 0), ("vulns_medium", "integer", 0),
                   ("vulns_low", "integer", 0), ("feed_updated_at", "timestamptz", None),
                   ("last_scan_at", "timestamptz", None), ("top_vulns", "jsonb", []))
# The model's metrics in the order ingest.update_rollups writes them (sorted): both paths take
# the rollup rows' locks in one order.
ROLLUPS_IN_LOCK_ORDER = tuple(sorted(ROLLUP_METRICS))

_HEAD = """
WITH used AS (
    SELECT device_id FROM api_keys
    WHERE id = :key_id AND key_hash = :key_hash AND device_id = :device_id AND org_id = :org_id
      AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > :now)
      AND last_used_ip IS NOT DISTINCT FROM CAST(:key_ip AS varchar)
    FOR NO KEY UPDATE
),
seen AS (SELECT xmin::text AS v FROM devices WHERE id = :device_id),
dev AS (
    SELECT d.id, d.status, d.local_ip, d.public_ip, d.site_id, d.hostname, d.device_name, d.heartbeat_interval,
           d.xmin::text AS v
    FROM devices d JOIN used ON used.device_id = d.id
    WHERE d.id = :device_id AND d.org_id = :org_id AND d.deleted_at IS NULL
      AND d.status NOT IN ('suspended', 'decommissioned')
    FOR UPDATE OF d
),
svc_in AS (
    SELECT * FROM jsonb_to_recordset(CAST(:services AS jsonb))
        AS s(name text, status text, enabled boolean, pid integer, memory_mb integer)
),
go AS (
    SELECT dev.* FROM dev JOIN seen ON seen.v = dev.v
    WHERE dev.status NOT IN ('pending', 'offline')
      AND (CAST(:public_ip AS varchar) IS NULL OR dev.public_ip = CAST(:public_ip AS varchar))
      AND (CAST(:local_ip AS varchar) IS NULL OR dev.local_ip = CAST(:local_ip AS varchar))
      AND NOT EXISTS (SELECT 1 FROM svc_in LEFT JOIN service_status ss
                      ON ss.device_id = :device_id AND ss.service_name = svc_in.name
                      WHERE ss.status IS DISTINCT FROM svc_in.status)
      AND NOT EXISTS (SELECT 1 FROM heartbeats h WHERE h.device_id = :device_id AND h.timestamp = :ts)
),
hb AS (
    INSERT INTO heartbeats (device_id, timestamp, received_at, uptime_seconds, cpu_usage_percent,
                            ram_usage_percent, ram_used_gb, ram_total_gb, disk_root_percent, load_1m,
                            network_rx_bytes_per_sec, network_tx_bytes_per_sec, filesystems,
                            failed_login_count_24h, payload)
    SELECT go.id, :ts, :now, CAST(:uptime AS bigint), CAST(:cpu AS double precision),
           CAST(:ram AS double precision), CAST(:ram_used AS double precision), CAST(:ram_total AS double precision),
           CAST(:disk_root AS double precision), CAST(:load_1m AS double precision), CAST(:net_rx AS bigint),
           CAST(:net_tx AS bigint), CAST(:filesystems AS jsonb), :failed_logins, CAST(:payload AS jsonb)
    FROM go
    RETURNING id
),
key_upd AS (
    UPDATE api_keys SET last_used_at = :now, usage_count = usage_count + 1
    FROM hb WHERE api_keys.id = :key_id
    RETURNING api_keys.id
),
device_upd AS (
    UPDATE devices SET last_seen_at = :now, updated_at = :now,
                       uptime_seconds = COALESCE(CAST(:uptime AS bigint), devices.uptime_seconds),
                       docker_present = devices.docker_present OR CAST(:has_containers AS boolean)
    FROM hb WHERE devices.id = :device_id
    RETURNING devices.id
),
svc_upd AS (
    UPDATE service_status ss SET enabled = s.enabled, pid = s.pid, memory_mb = s.memory_mb, checked_at = :now
    FROM svc_in s, hb WHERE ss.device_id = :device_id AND ss.service_name = s.name
    RETURNING ss.id
),
ctr AS (
    INSERT INTO docker_containers (device_id, container_name, container_id, image_name, image_tag, status,
                                   restart_count, cpu_percent, mem_mb, started_at, last_seen_at)
    SELECT :device_id, c.name, c.container_id, c.image_name, c.image_tag, c.status, c.restart_count,
           c.cpu_percent, c.mem_mb, c.started_at, :now
    FROM jsonb_to_recordset(CAST(:containers AS jsonb)) AS c(name text, container_id text, image_name text,
         image_tag text, status text, restart_count integer, cpu_percent double precision, mem_mb integer,
         started_at timestamptz)
    CROSS JOIN hb
    ORDER BY c.name
    ON CONFLICT (device_id, container_name) DO UPDATE SET
        container_id = excluded.container_id, image_name = excluded.image_name, image_tag = excluded.image_tag,
        status = excluded.status, restart_count = excluded.restart_count, cpu_percent = excluded.cpu_percent,
        mem_mb = excluded.mem_mb, started_at = excluded.started_at, last_seen_at = excluded.last_seen_at
    RETURNING id
),
roll AS (
    INSERT INTO metrics_rollup (device_id, bucket_start, metric, avg_value, max_value, sample_count, created_at)
    SELECT :device_id, :bucket, r.metric, r.value, r.value, 1, :now
    FROM jsonb_to_recordset(CAST(:rollups AS jsonb)) AS r(metric text, value double precision)
    CROSS JOIN hb
    ORDER BY r.metric
    ON CONFLICT (device_id, bucket_start, metric) DO UPDATE SET
        avg_value = (metrics_rollup.avg_value * metrics_rollup.sample_count + excluded.avg_value)
                    / (metrics_rollup.sample_count + 1),
        max_value = CASE WHEN excluded.max_value > metrics_rollup.max_value THEN excluded.max_value
                         ELSE metrics_rollup.max_value END,
        sample_count = metrics_rollup.sample_count + 1
    RETURNING id
)"""

_TAIL = """
SELECT (SELECT count(*) FROM used) AS key_ok,
       (SELECT id FROM hb) AS heartbeat_id,
       go.site_id, go.hostname, go.device_name, go.heartbeat_interval,
       (SELECT COALESCE(sum(version), 0) FROM alert_rule_versions WHERE scope IN (0, :org_id)) AS rules_version,
       (SELECT json_agg(json_build_object('rule_id', st.rule_id, 'target_key', st.target_key, 'state', st.state,
                                          'alert_id', st.alert_id, 'alert_status', a.status,
                                          'alert_message', a.message))
        FROM alert_rule_states st LEFT JOIN alerts a ON a.id = st.alert_id
        WHERE st.device_id = :device_id) AS states
FROM (SELECT 1) AS one LEFT JOIN go ON true"""


def _scanner_cte(present: tuple[str, ...]) -> str:
    """The scanner_stats upsert: every column inserted (its default when absent), only the
    present ones updated on a conflict (as ingest's ORM upsert does)."""
    columns = ", ".join(name for name, _, _ in SCANNER_COLUMNS)
    values = ", ".join(f"CAST(:scanner_{name} AS {kind})" for name, kind, _ in SCANNER_COLUMNS)
    updates = ", ".join(f"{name} = excluded.{name}" for name in present) or "collected_at = excluded.collected_at"
    return (f",\nscan AS (\n    INSERT INTO scanner_stats (device_id, collected_at, {columns})\n"
            f"    SELECT :device_id, :ts, {values} FROM hb\n"
            f"    ON CONFLICT (device_id, collected_at) DO UPDATE SET {updates}\n    RETURNING id\n)")


_statements: dict[Any, sa.TextClause] = {}


def _statement(scanner: tuple[str, ...] | None) -> sa.TextClause:
    """The statement's text for this set of scanner fields (few combinations: kept compiled)."""
    found = _statements.get(scanner)
    if found is None:
        found = sa.text(_HEAD + (_scanner_cte(scanner) if scanner is not None else "") + _TAIL)
        _statements[scanner] = found
    return found


def _json(value: Any) -> str:
    return json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v))


class FastResult(NamedTuple):
    received_at: datetime
    heartbeat_interval: int


def store(*, key_id: int, key_hash: str, device_id: int, org_id: int, key_ip: str | None, public_ip: str | None,
          data: dict[str, Any], clean: dict[str, Any], now: datetime) -> FastResult | None:
    """Store one validated heartbeat in one statement when nothing about the device changes
    but its numbers (see the module's docstring); None when it must take the full path (the
    caller rolls back: nothing was written). The caller commits."""
    if any(s["status"] not in SERVICE_STATUSES for s in clean["services"]):
        return None
    ts = clean["timestamp"]
    scanner = clean.get("scanner_stats")
    params: dict[str, Any] = {
        "now": now, "key_id": key_id, "key_hash": key_hash, "device_id": device_id, "org_id": org_id,
        "key_ip": key_ip, "public_ip": public_ip or None, "local_ip": clean.get("local_ip"), "ts": ts,
        "services": _json([{k: s[k] for k in ("name", "status", "enabled", "pid", "memory_mb")}
                           for s in clean["services"]]),
        "uptime": clean["uptime_seconds"], "cpu": clean["cpu"], "ram": clean["ram"],
        "ram_used": clean["ram_used_gb"], "ram_total": clean["ram_total_gb"], "disk_root": clean["disk_root"],
        "load_1m": clean["load_1m"], "net_rx": clean["net_rx"], "net_tx": clean["net_tx"],
        "filesystems": _json(clean["filesystems"]), "failed_logins": clean["failed_logins"],
        "payload": _json(data), "has_containers": bool(clean["containers"]),
        "containers": _json([{"name": c["name"], "container_id": c["container_id"], "image_name": c["image_name"],
                              "image_tag": c["image_tag"], "status": c["status"], "restart_count": c["restart_count"],
                              "cpu_percent": c["cpu_percent"], "mem_mb": c["mem_mb"], "started_at": c["started_at"]}
                             for c in clean["containers"]]),
        "bucket": bucket_start(ts),
        "rollups": _json([{"metric": m, "value": float(clean[m])} for m in ROLLUPS_IN_LOCK_ORDER if clean[m] is not None]),
    }
    present = None
    if scanner is not None:
        present = tuple(name for name, _, _ in SCANNER_COLUMNS if scanner.get(name) is not None)
        for name, kind, default in SCANNER_COLUMNS:
            value = scanner.get(name)
            value = default if value is None else value
            params[f"scanner_{name}"] = _json(value) if kind == "jsonb" else value
    # Nothing read or written yet in this request's transaction: the statement runs alone in
    # autocommit, one round trip instead of BEGIN, statement, COMMIT. Every write in it hangs
    # off `hb`, which is empty unless the guard (`go`) passed, so a statement that decides to
    # fall back writes nothing (not even the key's usage count) and has nothing to roll back.
    # (A session bound to one connection, as the tests' outer transaction, keeps its transaction.)
    alone = not db.session().in_transaction() and isinstance(db.session.get_bind(), sa.Engine)
    if alone:
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    row = db.session.execute(_statement(present), params).one()
    if alone:
        # Ends the session's autocommit use of the connection (psycopg sends nothing: there is
        # no open transaction); anything below runs in an ordinary transaction.
        db.session.commit()
    if row.heartbeat_id is None:
        return None
    device = alert_rules.DeviceView(device_id, org_id, row.site_id, row.device_name or row.hostname)
    states = {(s["rule_id"], s["target_key"]): s for s in row.states or []}
    if not alert_rules.heartbeat_changes_nothing(device, clean, now, int(row.rules_version), states):
        # A decision to take: the rules run as on the full path, on the stored heartbeat,
        # under the device's lock (taken again when the statement committed on its own).
        alert_rules.on_heartbeat(db.session.get(Device, device_id, with_for_update=alone or None), clean, now)
    return FastResult(now, row.heartbeat_interval)

