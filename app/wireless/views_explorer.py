"""The networks explorer (filtered, sorted, paginated table) and its streaming exports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Response, jsonify, make_response, request, stream_with_context, url_for

from app import audit
from app.core.templating import localtime
from app.htmx import hx_push_url, is_htmx
from app.models import db
from app.models.wireless import ENCRYPTIONS, RADIO_TYPES, AgencyOffice, DeviceSource, WirelessImport
from app.pagination import MAX_PAGE, parse_page
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, render_page
from app.tenancy import require_org_id
from app.wireless import explorer
from app.wireless.blueprint import bp
from app.wireless.filters import (
    LEVEL_CHOICES,
    TAG_CHOICES,
    FilterError,
    NetworkFilter,
    parse_filters,
)
from app.wireless.importers.records import EARLIEST_MS

IMPORT_CHOICES = 50  # the newest imports offered in the filter (an older one still works by URL)

EXPORT_FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "json": ("application/json", "json"),
    "geojson": ("application/geo+json", "geojson"),
}


def filter_form_context(errors: dict[str, str] | None = None) -> dict[str, Any]:
    """What the shared filter form (wireless/_filters.html) needs, on every page that shows it."""
    org_id = require_org_id()
    offices = db.session.execute(sa.select(AgencyOffice.id, AgencyOffice.name, AgencyOffice.state)
                                 .order_by(AgencyOffice.state, AgencyOffice.name)).all()
    sources = db.session.execute(sa.select(DeviceSource.id, DeviceSource.name, DeviceSource.code)
                                 .where(DeviceSource.org_id == org_id).order_by(DeviceSource.name)).all()
    imports = db.session.execute(
        sa.select(WirelessImport.id, WirelessImport.filename, WirelessImport.created_at)
        .where(WirelessImport.org_id == org_id).order_by(WirelessImport.id.desc()).limit(IMPORT_CHOICES)).all()
    return {"values": request.args, "errors": errors or {}, "radio_types": RADIO_TYPES,
            "level_choices": LEVEL_CHOICES, "tag_choices": TAG_CHOICES, "encryptions": ENCRYPTIONS,
            "offices": offices, "filter_sources": sources, "filter_imports": imports}


def _page_number(errors: dict[str, str]) -> int:
    # Bounded so the OFFSET stays a bigint on PostgreSQL (page 10**20 was a 500 there); shown
    # as a filter error here rather than the shared 422 page, so the filters stay editable.
    page = parse_page(request.args.get("page"))
    if page is None:
        errors["page"] = f"must be a whole number from 1 to {MAX_PAGE:,}"
        return 1
    return page


@bp.get("/networks")
@require("data.read")
def network_list():
    """The networks explorer: every filter combined, sortable columns, one page at a time."""
    org_id = require_org_id()
    errors: dict[str, str] = {}
    try:
        f = parse_filters(request.args, org_id)
    except FilterError as exc:
        errors.update(exc.errors)
        f = NetworkFilter()
    page_no = _page_number(errors)
    if errors:
        return render_page("wireless/networks.html", block="table", status=INVALID_FORM_STATUS, f=f, page=None,
                           **filter_form_context(errors))
    page = explorer.page_of(f, org_id, page_no)
    body, status = render_page("wireless/networks.html", block="table", f=f, page=page,
                               **filter_form_context())
    response = make_response(body, status)
    if is_htmx():
        # The form sends every field, empty or not; the address bar gets the short form.
        extra = {"page": page.page} if page.page > 1 else {}
        hx_push_url(response, url_for("wireless.network_list", **f.args(), **extra))
    return response


def filter_error_response(exc: FilterError | ValueError, field: str | None = None):
    """400 with the message (JSON: the data endpoints are read by scripts and the map)."""
    fields = exc.errors if isinstance(exc, FilterError) else {field or "query": str(exc)}
    message = "; ".join(f"{k}: {v}" for k, v in fields.items())
    return jsonify(error={"code": "invalid_filter", "message": message, "fields": fields}), 400


@bp.get("/networks/export")
@require("data.read")
def network_export():
    """Stream every network the filter matches as CSV, JSON or GeoJSON (audited)."""
    org_id = require_org_id()
    fmt = (request.args.get("format") or "csv").lower()
    if fmt not in EXPORT_FORMATS:
        return filter_error_response(ValueError(f"choose one of {', '.join(EXPORT_FORMATS)}"), "format")
    try:
        f = parse_filters(request.args, org_id)
    except FilterError as exc:
        return filter_error_response(exc)
    # Handing the organization's sightings to a file is a data access worth a record; it is
    # committed before the first byte, so an interrupted download is still on record.
    audit.record("wireless.networks_exported", resource_type="networks",
                 details={"format": fmt, "filters": f.described()})
    db.session.commit()
    records = explorer.records(f, org_id)
    if fmt == "csv":
        chunks = explorer.csv_chunks(records)
    else:
        meta = {"exported_at": datetime.now(UTC).isoformat(timespec="seconds"), "filters": f.described()}
        chunks = explorer.json_chunks(records, geojson=fmt == "geojson", meta=meta)
    mimetype, ext = EXPORT_FORMATS[fmt]
    response = Response(stream_with_context(chunks), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="networks.{ext}"'
    return response


def detail_url(network_id: int) -> str:
    """The network page's URL (used by the map's popups)."""
    return url_for("wireless.network_detail", network_id=network_id)


@bp.app_template_filter("ms_localtime")
def ms_localtime(ms: int | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Epoch milliseconds (how networks store first/last seen) in the user's time zone."""
    if not ms:
        return ""
    if ms < EARLIEST_MS:  # only sightings without a clock fix (kept with their time unknown)
        return "time unknown"
    return localtime(datetime.fromtimestamp(ms / 1000, UTC), fmt)
