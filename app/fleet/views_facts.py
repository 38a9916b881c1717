"""The Facts section of the device page: what changed between two snapshots."""

from __future__ import annotations

from flask import abort, request

from app.fleet import facts
from app.fleet.blueprint import bp
from app.models import Device
from app.permissions import require
from app.rendering import render_page
from app.tenancy import get_scoped_or_404


@bp.get("/devices/<int:device_id>/facts")
@require("data.read")
def device_facts(device_id: int):
    """A device's facts snapshots and the difference between two of them (default: the newest two)."""
    device = get_scoped_or_404(Device, device_id)
    snaps = facts.snapshots(device.id)
    by_id = {s.id: s for s in snaps}
    chosen = []
    for key, default in (("from", 1), ("to", 0)):
        raw = request.args.get(key)
        if raw:
            if not raw.isdigit() or int(raw) not in by_id:
                abort(404)
            chosen.append(by_id[int(raw)])
        else:
            chosen.append(snaps[default] if len(snaps) > default else None)
    old, new = chosen
    changes = facts.diff(old.facts if old else {}, new.facts) if new is not None else None
    return render_page("fleet/device_facts.html", block="facts", device=device, snapshots=snaps, old=old, new=new,
                       changes=changes)
