"""Inventory changes: the device edit form and bulk actions over ticked devices."""

from __future__ import annotations

from flask import abort, flash, request
from flask_login import current_user

from app.fleet import inventory
from app.fleet.blueprint import bp
from app.fleet.forms import BulkForm, DeviceEditForm, parse_custom_fields, split_list, split_tags
from app.fleet.views import inventory_context, inventory_rows, org_sites
from app.models import Device, Subscription, db
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id, scoped

TEXT_FIELDS = ("device_name", "hostname", "manufacturer", "model", "serial_number", "cpu_model", "os_type",
               "os_version", "kernel_version", "local_ip", "public_ip", "notes")


def _edit_values(form: DeviceEditForm) -> dict:
    values = {name: (getattr(form, name).data or "").strip() or None for name in TEXT_FIELDS}
    values.update(
        device_type=form.device_type.data, billing_type=form.billing_type.data, environment=form.environment.data,
        status=form.status.data, heartbeat_interval=form.heartbeat_interval.data, cpu_cores=form.cpu_cores.data,
        ram_mb=form.ram_mb.data, disk_gb=form.disk_gb.data,
        site_id=int(form.site_id.data) if form.site_id.data else None,
        subscription_id=int(form.subscription_id.data) if form.subscription_id.data else None,
        mac_addresses=sorted({m.replace("-", ":") for m in split_list(form.mac_addresses.data, lower=True)}),
        modules_enabled=sorted(set(form.modules_enabled.data or [])), tags=split_tags(form.tags.data),
        custom_fields=parse_custom_fields(form.custom_fields.data))
    return values


@bp.route("/devices/<int:device_id>/edit", methods=["GET", "POST"])
@require("data.write")
def device_edit(device_id: int):
    """Edit every inventory column of a device (audited)."""
    device = get_scoped_or_404(Device, device_id)
    sites = org_sites()
    subscriptions = db.session.scalars(scoped(Subscription).order_by(Subscription.start_date.desc())).all()
    form = DeviceEditForm(sites=sites, subscriptions=subscriptions, current_status=device.status,
                          obj=None if request.method == "POST" else device)
    if request.method == "GET":
        form.site_id.data = str(device.site_id or "")
        form.subscription_id.data = str(device.subscription_id or "")
        form.mac_addresses.data = ", ".join(device.mac_addresses or [])
        form.tags.data = ", ".join(device.tags or [])
        form.custom_fields.data = "\n".join(f"{k} = {v}" for k, v in sorted((device.custom_fields or {}).items()))
    if form.validate_on_submit():
        values = _edit_values(form)
        # Ids offered by the form are this organization's; anything else was typed by hand.
        if values["site_id"] is not None and values["site_id"] not in {s.id for s in sites}:
            abort(404)
        if values["subscription_id"] is not None and values["subscription_id"] not in {s.id for s in subscriptions}:
            abort(404)
        changed = inventory.update_device(device, values, current_user._get_current_object())
        db.session.commit()
        flash(f"Device {device.label} saved." if changed else "Nothing changed.", "success")
        return redirect_after_post("fleet.device_detail", device_id=device.id)
    status = INVALID_FORM_STATUS if form.errors else 200
    return render_page("fleet/device_edit.html", status=status, form=form, device=device)


@bp.post("/devices/bulk")
@require("data.write")
def devices_bulk():
    """Assign a site, add or remove a tag on the ticked devices (only this organization's are touched)."""
    sites = org_sites()
    form = BulkForm(sites=sites)
    if not form.validate_on_submit():
        # The inventory again, with the bulk form's errors, as for any refused form.
        return render_page("fleet/index.html", status=INVALID_FORM_STATUS,
                           **inventory_context(*inventory_rows(), bulk_form=form))
    site_id = int(form.site_id.data) if form.action.data == "assign_site" and form.site_id.data else None
    if site_id is not None and site_id not in {s.id for s in sites}:
        abort(404)
    tag = split_tags(form.tag.data)[0] if form.action.data in ("tag", "untag") else None
    changed = inventory.bulk_apply(require_org_id(), form.device_ids.data, form.action.data, site_id=site_id,
                                   tag=tag, actor=current_user._get_current_object())
    db.session.commit()
    flash(f"{changed} device(s) changed.", "success")
    return redirect_after_post("fleet.index")
