"""Fleet jobs."""

from __future__ import annotations

from app.alerting.service import end_expired_mutes
from app.fleet import backups, commands, offline, retention
from app.fleet.alert_rules import evaluate_absence
from app.fleet.demo_fleet import keep_demo_alive
from app.jobs import job


@job("fleet.mark_offline", title="Mark silent devices offline", queue="high", timeout=120)
def mark_offline(ctx, **_params) -> dict:
    """Mark devices without a recent heartbeat offline and raise a device_offline notification."""
    count = offline.mark_offline()
    return {"message": f"{count} device(s) went offline", "offline": count}


@job("fleet.evaluate_alerts", title="Evaluate absence alert rules", queue="high", timeout=300)
def evaluate_alerts(ctx, **_params) -> dict:
    """Run device_offline and scanner_feed_stale rules over the fleet; end expired mutes."""
    unmuted = end_expired_mutes()
    decisions = evaluate_absence()
    return {"message": f"{decisions} alert decision(s), {unmuted} mute(s) ended", "decisions": decisions}


@job("fleet.prune_rollups", title="Delete old metric rollups", timeout=600)
def prune_rollups(ctx, **_params) -> dict:
    """Delete 5-minute rollups older than the retention setting."""
    count = retention.prune_rollups()
    return {"message": f"Deleted {count} rollup row(s)", "deleted": count}


@job("fleet.prune_facts", title="Keep the newest facts snapshots", timeout=600)
def prune_facts(ctx, **_params) -> dict:
    """Delete facts snapshots beyond the newest N per device."""
    count = retention.prune_facts()
    return {"message": f"Deleted {count} facts snapshot(s)", "deleted": count}


@job("alerts.prune_resolved", title="Delete old resolved alerts", timeout=600)
def prune_resolved_alerts(ctx, **_params) -> dict:
    """Delete alerts resolved longer ago than the retention setting."""
    count = retention.prune_alerts()
    return {"message": f"Deleted {count} resolved alert(s)", "deleted": count}


@job("fleet.expire_commands", title="Expire stale fleet commands", queue="high", timeout=120)
def expire_commands(ctx, **_params) -> dict:
    """Mark commands past their expiry (unfetched, or never approved) expired."""
    count = commands.expire_stale()
    return {"message": f"{count} command(s) expired", "expired": count}


@job("fleet.backups_schedule", title="Send scheduled backups", queue="default", timeout=300)
def backups_schedule(ctx, **_params) -> dict:
    """Send run_backup to every device whose backup schedule is due and record its next run."""
    sent = backups.schedule_due()
    return {"message": f"{len(sent)} backup command(s) sent", "sent": len(sent)}


@job("fleet.backups_retention", title="Expire backups by retention policy", queue="low", timeout=600)
def backups_retention(ctx, **_params) -> dict:
    """Expire snapshots each device's keep-last + daily/weekly/monthly policy no longer keeps."""
    count = backups.apply_all_retention()
    return {"message": f"{count} snapshot(s) expired", "expired": count}


@job("fleet.prune_commands", title="Delete old finished fleet commands", queue="low", timeout=600)
def prune_commands(ctx, **_params) -> dict:
    """Delete finished commands older than the fleet.commands_keep_days setting."""
    count = commands.prune_finished()
    return {"message": f"{count} old command(s) deleted", "deleted": count}


@job("fleet.prune_telemetry", title="Delete old heartbeats and scanner stats", timeout=900)
def prune_telemetry(ctx, **_params) -> dict:
    """Delete raw heartbeats and scanner stats older than their retention settings."""
    deleted = retention.prune_telemetry()
    return {"message": f"Deleted {deleted['heartbeats']} heartbeat(s) and {deleted['scanner_stats']} scanner stats "
                       "row(s)", **deleted}


@job("fleet.demo_heartbeats", title="Keep the demo fleet alive", queue="high", timeout=120)
def demo_heartbeats(ctx, **_params) -> dict:
    """Send one simulated heartbeat per demo device (seed-demo's fleet) through the real ingest."""
    count = keep_demo_alive()
    return {"message": f"{count} demo heartbeat(s)", "sent": count}
