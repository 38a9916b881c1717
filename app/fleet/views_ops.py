"""The device's Commands and Backups tabs: issue, approve and cancel commands; configure
backups, preview and apply retention, record restore tests; bulk-enable backups."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, current_app, flash, render_template, request, url_for
from flask_login import current_user

from app.fleet import agent_package, backup_repository, backups, commands
from app.fleet.blueprint import bp
from app.fleet.forms_ops import BackupConfigForm, CommandForm, RestoreTestForm
from app.models import BackupSnapshot, Command, Device, db
from app.models.base import as_dict
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, scoped


def _user():
    return current_user._get_current_object()


def _commands_page(device: Device, form: CommandForm, status: int = 200, block: str = "commands"):
    return render_page("fleet/device_commands.html", block=block, status=status, device=device, form=form,
                       rows=commands.device_commands(device), tiers=commands.TIERS)


@bp.get("/devices/<int:device_id>/commands")
@require("data.read")
def device_commands(device_id: int):
    """The device's command queue and the form to send one."""
    device = get_scoped_or_404(Device, device_id)
    return _commands_page(device, CommandForm(user=_user()))


@bp.get("/devices/<int:device_id>/commands/queue")
@require("data.read")
def device_command_queue(device_id: int):
    """The queue alone, which the Commands tab polls every 10 seconds to show status changes."""
    return _commands_page(get_scoped_or_404(Device, device_id), CommandForm(user=_user()), block="command_queue")


@bp.post("/devices/<int:device_id>/commands")
@require("fleet.command_safe")
def command_issue(device_id: int):
    """Queue a command; the role decides which tiers of types are allowed (checked again in the service)."""
    device = get_scoped_or_404(Device, device_id)
    form = CommandForm(user=_user())
    if form.validate_on_submit():
        try:
            command = commands.issue(device, form.command_type.data, form.payload(), _user())
        except commands.CommandError as exc:
            db.session.rollback()
            if exc.status == 403:
                abort(403)
            target = form.hostname if form.command_type.data == "change_hostname" else (
                form.services if form.command_type.data == "restart_services" else form.command_type)
            target.errors = [*target.errors, str(exc)]
        else:
            db.session.commit()
            flash(f"{command.command_type.replace('_', ' ')} "
                  + ("waits for a second admin's approval." if command.status == "awaiting_approval" else "queued."),
                  "success")
            return redirect_after_post("fleet.device_tab", device_id=device.id, tab="commands")
    return _commands_page(device, form, INVALID_FORM_STATUS)


def _command_action(command_id: int, action, done: str) -> object:
    command = get_scoped_or_404(Command, command_id)
    try:
        action(command, _user())
    except commands.CommandError as exc:
        db.session.rollback()
        abort(exc.status, str(exc))
    db.session.commit()
    flash(f"{command.command_type.replace('_', ' ')} #{command.id} {done}.", "success")
    # Back to the device's Commands tab, where the operator came from.
    return redirect_after_post("fleet.device_tab", device_id=command.device_id, tab="commands")


@bp.post("/commands/<int:command_id>/approve")
@require("fleet.command_recovery")
def command_approve(command_id: int):
    """A second admin approves a recovery command, which signs it for the agent."""
    return _command_action(command_id, commands.approve, "approved: signed for the agent's next poll")


@bp.post("/commands/<int:command_id>/cancel")
@require("fleet.command_safe")
def command_cancel(command_id: int):
    """Cancel a command the agent has not picked up yet."""
    return _command_action(command_id, commands.cancel, "canceled")


# Backups ----------------------------------------------------------------------------------------

def _backups_page(device: Device, form: BackupConfigForm | None = None, status: int = 200):
    config = backups.get_config(device)
    if form is None:
        form = BackupConfigForm(data=as_dict(config, backups.CONFIG_FIELDS) if config else backups.default_values())
        form.full_disk_method.data = form.full_disk_method.data or ""
    snapshots = db.session.scalars(sa.select(BackupSnapshot).where(BackupSnapshot.device_id == device.id)
                                   .order_by(BackupSnapshot.started_at.desc()).limit(100)).all()
    next_local = backups.in_zone(config.next_scheduled_at, config.timezone) if config and config.next_scheduled_at else None
    return render_page("fleet/device_backups.html", block="backups", status=status, device=device, config=config,
                       next_local=next_local,
                       form=form, snapshots=snapshots, plan=backups.retention_plan(device, config),
                       restore_form=RestoreTestForm(), latest=backups.latest_backup_status(device.id))


@bp.get("/devices/<int:device_id>/backups")
@require("data.read")
def device_backups(device_id: int):
    """Backup configuration, the snapshot catalog and what retention would expire now."""
    return _backups_page(get_scoped_or_404(Device, device_id))


@bp.post("/devices/<int:device_id>/backups")
@require("fleet.backups_manage")
def backup_config_save(device_id: int):
    """Save the device's backup configuration and schedule its next run."""
    device = get_scoped_or_404(Device, device_id)
    form = BackupConfigForm()
    if form.validate_on_submit():
        config = backups.save_config(device, form.values(), _user(), secrets=form.secrets())
        db.session.commit()
        flash("Backup settings saved." + (f" Next run {config.next_scheduled_at:%Y-%m-%d %H:%M} UTC."
                                          if config.next_scheduled_at else ""), "success")
        return redirect_after_post("fleet.device_tab", device_id=device.id, tab="backups")
    return _backups_page(device, form, INVALID_FORM_STATUS)


@bp.post("/devices/<int:device_id>/backups/retention")
@require("fleet.backups_manage")
def backup_retention_apply(device_id: int):
    """Expire now exactly what the retention preview lists."""
    device = get_scoped_or_404(Device, device_id)
    expired = backups.apply_retention(device, _user())
    db.session.commit()
    flash(f"{len(expired)} snapshot(s) expired.", "success")
    return redirect_after_post("fleet.device_tab", device_id=device.id, tab="backups")


@bp.post("/backups/<int:backup_id>/restore-test")
@require("fleet.backups_manage")
def backup_restore_test(backup_id: int):
    """Record a restore test of one snapshot (passed or failed)."""
    snapshot = get_scoped_or_404(BackupSnapshot, backup_id)
    form = RestoreTestForm()
    if not form.validate_on_submit():
        abort(422, "Choose the outcome of the restore test.")
    try:
        backups.record_restore_test(snapshot, form.outcome.data == "passed", form.note.data or None, _user())
    except backups.BackupError as exc:
        db.session.rollback()
        abort(exc.status, str(exc))
    db.session.commit()
    flash("Restore test recorded.", "success")
    return redirect_after_post("fleet.device_tab", device_id=snapshot.device_id, tab="backups")


@bp.post("/backups/<int:backup_id>/restore-test/run")
@require("fleet.backups_manage")
def backup_restore_test_run(backup_id: int):
    """Ask the device's agent to restore a sample of this snapshot and compare checksums."""
    snapshot = get_scoped_or_404(BackupSnapshot, backup_id)
    try:
        backup_repository.request_restore_test(snapshot, _user())
    except backups.BackupError as exc:
        db.session.rollback()
        abort(exc.status, str(exc))
    db.session.commit()
    flash("Restore test sent to the agent; its result appears here when it reports.", "success")
    return redirect_after_post("fleet.device_tab", device_id=snapshot.device_id, tab="backups")


@bp.post("/devices/backups/enable")
@require("fleet.backups_manage")
def backups_bulk_enable():
    """Turn file backups on (02:00 daily, default retention) for the selected devices."""
    ids = [int(v) for v in request.form.getlist("device_ids") if v.isdigit()][:500]
    devices = db.session.scalars(scoped(Device).where(Device.id.in_(ids), Device.enrolled_at.is_not(None))).all()
    for device in devices:
        current = backups.get_config(device)
        values = as_dict(current, backups.CONFIG_FIELDS) if current else backups.default_values()
        values.update(enabled=True, backup_mode=values["backup_mode"] if values["backup_mode"] != "off" else "file",
                      schedule_cron=values.get("schedule_cron") or "0 2 * * *")
        backups.save_config(device, values, _user())
    db.session.commit()
    flash(f"Backups enabled on {len(devices)} device(s)." if devices else "No enrolled device was selected.",
          "success" if devices else "warning")
    return redirect_after_post("fleet.index")


# The agent for the "add device" page (public: agent code and a script, no secrets) -------------

@bp.get("/agent/install.sh")
def agent_installer():
    """The installer script, pinned to this console's agent version."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    script = render_template("fleet/install-agent.sh", server=base, version=agent_package.VERSION,
                             script_url=base + url_for("fleet.agent_installer"),
                             package_url=base + url_for("fleet.agent_tarball", name=agent_package.tarball_name()))
    return Response(script, mimetype="text/x-shellscript")


@bp.get("/agent/<name>")
def agent_tarball(name: str):
    """The agent's source tarball at this console's version (another name is a 404)."""
    if name != agent_package.tarball_name():
        abort(404)
    return Response(agent_package.tarball(), mimetype="application/gzip",
                    headers={"Content-Disposition": f"attachment; filename={name}"})
