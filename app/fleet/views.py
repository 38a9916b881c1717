"""Fleet pages: inventory with filters, create (with claim code), delete, and the
organization's subscriptions. The device page is views_device.py."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, request
from flask_login import current_user
from sqlalchemy.orm import selectinload

from app import audit
from app.fleet import services
from app.fleet.blueprint import bp
from app.fleet.forms import BulkForm, DeviceForm, SubscriptionForm, split_tags
from app.models import (
    Device,
    Organization,
    Site,
    Subscription,
    db,
    utcnow,
)
from app.models.base import as_dict
from app.models.fleet import DEVICE_STATUSES, DEVICE_TYPES
from app.pagination import page_arg
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id, scoped, switch_org


def org_sites() -> list[Site]:
    return db.session.scalars(scoped(Site).order_by(Site.name)).all()


def tag_filter(tag: str):
    """Devices carrying `tag` in their JSON tag list, on PostgreSQL and SQLite."""
    if db.session.get_bind().dialect.name == "postgresql":
        return Device.tags.op("@>")(sa.cast(sa.literal(f'["{tag}"]'), Device.tags.type))
    each = sa.func.json_each(Device.tags).table_valued("value")
    return sa.exists(sa.select(1).select_from(each).where(each.c.value == tag))


def choose_org(raw: str | None) -> None:
    """The inventory's organization filter: a super admin switches the organization acted for;
    anyone else may only name their own (another id is a 404, as for any other tenant's row)."""
    if not raw:
        return
    if not raw.isdigit():
        abort(400, "Unknown organization.")
    if current_user.is_super_admin:
        switch_org(int(raw))
    elif int(raw) != require_org_id():
        abort(404)


@bp.get("/devices")
@require("data.read")
def index():
    """Device inventory with filters (organization for super admins, site, type, status, online, tag)."""
    choose_org(request.args.get("org"))
    return render_page("fleet/index.html", block="device_rows", **inventory_context(*inventory_rows()))


def inventory_rows():
    """The filtered, paginated devices of the request's query string: (rows, filters, online cutoff)."""
    args = request.args
    stmt = scoped(Device).options(selectinload(Device.site))
    site, device_type, status, tag = (args.get(k) or None for k in ("site", "type", "status", "tag"))
    if device_type and device_type not in DEVICE_TYPES or status and status not in (*DEVICE_STATUSES, "online"):
        abort(400, "Unknown filter value.")
    if site:
        if not site.isdigit():
            abort(400, "Unknown site.")
        stmt = stmt.where(Device.site_id == int(site))
    if device_type:
        stmt = stmt.where(Device.device_type == device_type)
    cutoff = services.online_cutoff()
    if status == "online":
        stmt = stmt.where(Device.last_seen_at >= cutoff)
    elif status:
        stmt = stmt.where(Device.status == status)
    if tag:
        stmt = stmt.where(tag_filter(tag.strip().lower()[:50]))
    rows = db.paginate(stmt.order_by(Device.device_name, Device.id), page=page_arg(args),
                       per_page=50, error_out=False)
    filters = {k: v for k, v in args.items() if k not in ("page", "org") and v}
    return rows, filters, cutoff


def inventory_context(rows, filters: dict, cutoff, bulk_form=None) -> dict:
    """What the inventory page needs besides its rows (also re-rendered by a refused bulk action)."""
    org_id = require_org_id()
    sites = org_sites()
    orgs = (db.session.scalars(sa.select(Organization).where(Organization.deleted_at.is_(None))
                               .order_by(Organization.name)).all() if current_user.is_super_admin else [])
    return {"rows": rows, "filters": filters, "sites": sites, "types": DEVICE_TYPES, "statuses": DEVICE_STATUSES,
            "cutoff": cutoff, "subscription": services.active_subscription(org_id), "orgs": orgs, "org_id": org_id,
            "device_total": services.device_count(org_id), "bulk_form": bulk_form or BulkForm(sites=sites)}


@bp.route("/devices/new", methods=["GET", "POST"])
@require("data.write")
def device_new():
    """Add a device; answers with its one-time claim code and the install command."""
    sites = org_sites()
    form = DeviceForm(sites=sites)
    if form.validate_on_submit():
        site_id = int(form.site_id.data) if form.site_id.data else None
        if site_id is not None and site_id not in {s.id for s in sites}:
            abort(404)
        try:
            device, code = services.create_device(
                require_org_id(), name=form.name.data, device_type=form.device_type.data, site_id=site_id,
                environment=form.environment.data, tags=split_tags(form.tags.data), notes=form.notes.data or None,
                actor=current_user._get_current_object())
        except services.FleetError as exc:
            db.session.rollback()
            form.name.errors = [*form.name.errors, str(exc)]
        else:
            db.session.commit()
            return claim_code_page(device, code)
    status = INVALID_FORM_STATUS if form.errors else 200
    return render_page("fleet/device_form.html", status=status, form=form)


@bp.post("/devices/<int:device_id>/claim-code")
@require("data.write")
def device_claim_code(device_id: int):
    """Issue a fresh claim code for a device that has not enrolled yet."""
    device = get_scoped_or_404(Device, device_id)
    try:
        code = services.reissue_claim_code(device, current_user._get_current_object())
    except services.FleetError as exc:
        abort(409, str(exc))
    db.session.commit()
    return claim_code_page(device, code)


def claim_code_page(device: Device, code: str):
    """The one-time claim code with the install command for this server's public address."""
    server, guessed = services.public_base_url()
    return render_page("fleet/claim_code.html", device=device, code=code, server=server, guessed=guessed,
                       command=services.install_command(code, server), hours=services.CLAIM_CODE_HOURS)


@bp.post("/devices/<int:device_id>/delete")
@require("data.write")
def device_delete(device_id: int):
    """Soft-delete a device (its agent key stops working, its overlay IP is freed)."""
    device = get_scoped_or_404(Device, device_id)
    services.delete_device(device, current_user._get_current_object())
    db.session.commit()
    flash(f"Device {device.label} removed.", "success")
    return redirect_after_post("fleet.index")


SUBSCRIPTION_FIELDS = ["plan_name", "plan_tier", "billing_cycle", "price_cents", "currency", "status",
                       "start_date", "end_date", "next_payment_date", "max_devices", "max_scans_per_month", "notes"]


@bp.get("/subscriptions")
@require("data.read")
def subscriptions():
    """The organization's subscriptions and how many devices the active one allows."""
    rows = db.session.scalars(scoped(Subscription).order_by(Subscription.start_date.desc())).all()
    org_id = require_org_id()
    return render_page("fleet/subscriptions.html", rows=rows, active=services.active_subscription(org_id),
                       device_total=services.device_count(org_id))


def _subscription_form(subscription: Subscription | None):
    """Create (None) or change a subscription from the form; one audit row with what changed."""
    form = SubscriptionForm(obj=subscription)
    if form.validate_on_submit():
        old = as_dict(subscription, SUBSCRIPTION_FIELDS) if subscription else None
        if subscription is None:
            subscription = Subscription(org_id=require_org_id())
            db.session.add(subscription)
        form.populate_obj(subscription)
        subscription.notes = subscription.notes or None
        subscription.plan_tier = subscription.plan_tier or None
        if subscription.status == "canceled" and (old or {}).get("status") != "canceled":
            subscription.canceled_at = utcnow()
        elif subscription.status != "canceled":
            subscription.canceled_at = None
        db.session.flush()
        new = as_dict(subscription, SUBSCRIPTION_FIELDS)
        if old is None:
            audit.record("subscription.created", resource_type="subscription", resource_id=subscription.id, new=new)
        elif old != new:
            before, after = audit.changes(old, new)
            audit.record("subscription.updated", resource_type="subscription", resource_id=subscription.id,
                         old=before, new=after)
        db.session.commit()
        flash("Subscription saved.", "success")
        return redirect_after_post("fleet.subscriptions")
    status = INVALID_FORM_STATUS if form.errors else 200
    return render_page("fleet/subscription_form.html", status=status, form=form, subscription=subscription)


@bp.route("/subscriptions/new", methods=["GET", "POST"])
@require("org.edit_own")
def subscription_new():
    """Record a subscription of the organization (admins)."""
    return _subscription_form(None)


@bp.route("/subscriptions/<int:subscription_id>/edit", methods=["GET", "POST"])
@require("org.edit_own")
def subscription_edit(subscription_id: int):
    """Change a subscription: raise the device limit, renew, cancel (admins)."""
    return _subscription_form(get_scoped_or_404(Subscription, subscription_id))
