"""Reference-data pages: agency offices (list and CSV import), location markers (home and
others), device sources and routes."""

from __future__ import annotations

from datetime import UTC

import sqlalchemy as sa
from flask import flash, request
from flask_login import current_user

from app import audit
from app.models import db
from app.models.wireless import AgencyOffice, DeviceSource, LocationMarker, Route
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id, scoped
from app.wireless import places, reference
from app.wireless.blueprint import bp
from app.wireless.forms_detail import HomeForm, MarkerForm, OfficeImportForm, RouteForm, SourceForm

# ---------------------------------------------------------------- agency offices


def _offices_page(status: int = 200, form: OfficeImportForm | None = None, parsed=None, text: str = ""):
    offices = db.session.scalars(sa.select(AgencyOffice).order_by(AgencyOffice.state, AgencyOffice.name)).all()
    return render_page("wireless/offices.html", status=status, offices=offices, form=form or OfficeImportForm(),
                       parsed=parsed, text=text)


@bp.get("/agency-offices")
@require("data.read")
def agency_offices():
    """Agency offices (global reference data used by scoring and the map)."""
    return _offices_page()


@bp.post("/agency-offices/import")
@require("settings.manage")
def agency_offices_import():
    """Preview or import an office CSV: every line is checked and nothing is saved if one fails."""
    form = OfficeImportForm()
    if not form.validate_on_submit():
        return _offices_page(INVALID_FORM_STATUS, form)
    upload = form.file.data
    raw = upload.read() if upload else (form.text.data or "").encode()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        form.file.errors = ["The file is not UTF-8 text."]
        return _offices_page(INVALID_FORM_STATUS, form)
    if not text.strip():
        form.text.errors = ["Choose a file or paste CSV lines."]
        return _offices_page(INVALID_FORM_STATUS, form)
    parsed = reference.parse_offices(text)
    if parsed.errors or not form.confirm.data:
        return _offices_page(INVALID_FORM_STATUS if parsed.errors else 200, form, parsed, text)
    added, updated = reference.save_offices(parsed.rows)
    audit.record("wireless.agency_offices_imported", resource_type="agency_office",
                 details={"rows": len(parsed.rows), "added": added, "updated": updated})
    db.session.commit()
    flash(f"{len(parsed.rows)} office(s) read: {added} added, {updated} updated.", "success")
    return redirect_after_post("wireless.agency_offices")


# ---------------------------------------------------------------- location markers


def _places_page(status: int = 200, home_form: HomeForm | None = None, marker_form: MarkerForm | None = None):
    org_id = require_org_id()
    markers = db.session.scalars(scoped(LocationMarker).order_by(LocationMarker.is_home.desc(), LocationMarker.name)).all()
    home = places.home_of(org_id)
    if home_form is None:
        home_form = HomeForm(formdata=None, obj=home) if home else HomeForm(formdata=None)
    return render_page("wireless/places.html", status=status, markers=markers, home=home, home_form=home_form,
                       marker_form=marker_form or MarkerForm(formdata=None))


@bp.get("/places")
@require("data.read")
def location_markers():
    """Home (one per organization, with a radius) and the other marked places."""
    return _places_page()


@bp.post("/places/home")
@require("data.write")
def location_home_set():
    """Set the organization's home; the old home is replaced and every network rescored."""
    form = HomeForm()
    if not form.validate_on_submit():
        return _places_page(INVALID_FORM_STATUS, home_form=form)
    places.set_home(require_org_id(), form.lat.data, form.lon.data, form.radius_km.data, form.name.data,
                    actor_id=current_user.id)
    db.session.commit()
    flash("Home set; networks will be rescored against it.", "success")
    return redirect_after_post("wireless.location_markers")


@bp.post("/places")
@require("data.write")
def location_marker_add():
    """Add a marked place."""
    form = MarkerForm()
    if not form.validate_on_submit():
        return _places_page(INVALID_FORM_STATUS, marker_form=form)
    places.add_marker(require_org_id(), form.name.data, form.lat.data, form.lon.data, form.description.data,
                      form.color.data, actor_id=current_user.id)
    db.session.commit()
    flash(f"{form.name.data} added.", "success")
    return redirect_after_post("wireless.location_markers")


@bp.post("/places/<int:marker_id>/delete")
@require("data.write")
def location_marker_delete(marker_id: int):
    """Remove a marked place (or the home)."""
    marker = get_scoped_or_404(LocationMarker, marker_id)
    places.delete_marker(marker)
    db.session.commit()
    flash("Place removed.", "success")
    return redirect_after_post("wireless.location_markers")


# ---------------------------------------------------------------- device sources


@bp.get("/sources")
@require("data.read")
def device_sources():
    """The organization's collectors (phones, Kismet boxes) that imports are filed under."""
    rows = db.session.scalars(scoped(DeviceSource).order_by(DeviceSource.code)).all()
    return render_page("wireless/sources.html", sources=rows)


def _source_values(form: SourceForm) -> dict:
    return {"code": form.code.data.strip(), "name": form.name.data.strip(), "device_type": form.device_type.data,
            "description": (form.description.data or "").strip() or None}


def _source_form(source: DeviceSource | None):
    """Add (source None) or edit a device source: one form, one rule for the unique code."""
    form = SourceForm(obj=source)
    if form.validate_on_submit():
        try:
            places.save_source(require_org_id(), _source_values(form), source)
        except places.PlaceError as exc:
            form.code.errors = [str(exc)]
        else:
            db.session.commit()
            flash("Source saved." if source else "Source added.", "success")
            return redirect_after_post("wireless.device_sources")
    status = INVALID_FORM_STATUS if request.method == "POST" else 200
    return render_page("wireless/source_form.html", status=status, form=form, source=source)


@bp.route("/sources/new", methods=["GET", "POST"])
@require("data.write")
def device_source_new():
    """Add a device source."""
    return _source_form(None)


@bp.route("/sources/<int:source_id>/edit", methods=["GET", "POST"])
@require("data.write")
def device_source_edit(source_id: int):
    """Edit a device source."""
    return _source_form(get_scoped_or_404(DeviceSource, source_id))


# ---------------------------------------------------------------- routes


def _route_form(form: RouteForm | None = None) -> RouteForm:
    form = form or RouteForm(formdata=None)
    form.source_id.choices = [(s.id, f"{s.name} ({s.code})")
                              for s in db.session.scalars(scoped(DeviceSource).order_by(DeviceSource.code))]
    return form


def _routes_page(status: int = 200, form: RouteForm | None = None):
    rows = db.session.scalars(scoped(Route).order_by(Route.recorded_at.desc())).all()
    names = {s.id: s.name for s in db.session.scalars(scoped(DeviceSource))}
    return render_page("wireless/routes.html", status=status, routes=rows, source_names=names, form=_route_form(form))


@bp.get("/routes")
@require("data.read")
def route_list():
    """Routes built from a source's sightings (the map draws them)."""
    return _routes_page()


@bp.post("/routes")
@require("data.write")
def route_build():
    """Build a route from one source's sightings over a time window."""
    form = _route_form(RouteForm())
    if not form.validate_on_submit():
        return _routes_page(INVALID_FORM_STATUS, form)
    source = get_scoped_or_404(DeviceSource, form.source_id.data)
    try:
        route = places.build_route(source.org_id, source, form.start.data.replace(tzinfo=UTC),
                                   form.end.data.replace(tzinfo=UTC), form.name.data, actor_id=current_user.id)
    except places.PlaceError as exc:
        db.session.rollback()
        form.end.errors = [str(exc)]
        return _routes_page(INVALID_FORM_STATUS, form)
    db.session.commit()
    flash(f"Route built: {route.point_count} sightings, {route.distance_km:.1f} km.", "success")
    return redirect_after_post("wireless.route_list")


@bp.post("/routes/<int:route_id>/delete")
@require("data.write")
def route_delete(route_id: int):
    """Delete a route."""
    places.delete_route(get_scoped_or_404(Route, route_id))
    db.session.commit()
    flash("Route deleted.", "success")
    return redirect_after_post("wireless.route_list")
