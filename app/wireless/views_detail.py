"""The network page: identity, score explanation and history, sightings, SSID history,
nearest agency office, WiGLE data, tags, notes and media."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from flask import abort, current_app, flash, make_response, send_file
from flask_login import current_user

from app.htmx import hx_trigger, is_htmx
from app.models import db
from app.models.wireless import Network as NetworkModel
from app.models.wireless import NetworkMedia, NetworkNote, NetworkTag
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404
from app.wireless import detail, media, reference, tracker_links
from app.wireless.alert_rules import not_a_threat
from app.wireless.basemap import allow_basemap, current_basemap
from app.wireless.blueprint import bp
from app.wireless.forms_detail import MediaForm, NoteForm, TagForm
from app.wireless.geo import haversine_m, valid_point
from app.wireless.geocoding.batch import position as geo_position
from app.wireless.geocoding.cache import best_place
from app.wireless.places import home_of
from app.wireless.scoring_help import FALSE_POSITIVES
from app.wireless.wigle.enrich import wigle_context

TAGGED_EVENT = "wireless-network-tagged"
TEMPLATE = "wireless/network_detail.html"
# Blocks rendered alone do not see a template's top-level {% set %}, so labels come from here.
LABELS = {
    "factor_labels": {
        "follow_legs": "Follow legs", "parked": "Parked surveillance", "home_correlation": "Home correlation",
        "fleet": "Fleet bonus", "equipment": "Equipment profile", "persistence": "Temporal persistence",
        "agency": "Agency-office proximity", "own_device": "Own-device discount", "minimums": "AirGuard-style minimums",
        "clamp": "Clamp at 100", "cellular": "Cellular radio", "data_quality": "Data quality", "no_data": "No data",
        "time_unknown": "Time unknown", "tag_overlay": "Tag overlay", "same_day": "Same-day following", "watcher": "Watcher at your places",
        "tracker_kind": "Bluetooth tracker kind"},
    "false_positives": FALSE_POSITIVES,
    "level_colours": {"CRITICAL": "danger", "HIGH": "warning", "MEDIUM": "info", "LOW": "secondary", "NONE": "light"},
}


def _position(network: NetworkModel) -> tuple[float, float] | None:
    for lat, lon in ((network.bestlat, network.bestlon), (network.lastlat, network.lastlon)):
        if valid_point(lat, lon):
            return lat, lon
    return None


def _tag_context(network: NetworkModel, tag_form: TagForm | None = None) -> dict:
    history = detail.tag_history(network.id)
    active = [t for t in history if not t.removed_at]
    return {"network": network, "tag_form": tag_form or TagForm(), "active_tags": active,
            "not_a_threat": not_a_threat([t.tag for t in active]),
            "tag_history": history, "people": detail.users_by_id({t.tagged_by_id for t in history}
                                                                 | {t.removed_by_id for t in history})}


def _score_context(network: NetworkModel) -> dict:
    return {"network": network, "score": detail.score_view(network), "history": detail.score_history(network.id),
            **LABELS}


def _page(network: NetworkModel, status: int = 200, block: str | None = None, **forms):
    points, timeline, total = detail.sightings(network)
    where = _position(network)
    nearest = reference.nearest_office(*where) if where else None
    # The geocoding batches' answer for the same position they look up (batch.position).
    spot = geo_position(network)
    place = best_place(network.org_id, *spot) if spot else None
    home = home_of(network.org_id)
    # Home and the nearest office on the sightings map: dots alone say nothing about "near what".
    places = {"home": {"lat": home.lat, "lon": home.lon, "radius_km": home.radius_km or 0.5, "name": home.name}
              if home else None,
              "office": {"lat": nearest[0].lat, "lon": nearest[0].lon, "name": nearest[0].name} if nearest else None}
    notes = detail.list_notes(network.id)
    people = detail.users_by_id({n.created_by_id for n in notes})
    parts = {**wigle_context(network), **_score_context(network), **_tag_context(network, forms.pop("tag_form", None))}
    basemap = current_basemap()
    body, status = render_page(
        TEMPLATE, block=block, status=status, has_list="wireless.network_list" in current_app.view_functions,
        first_seen=datetime.fromtimestamp(network.firsttime_ms / 1000, UTC),
        last_seen=datetime.fromtimestamp(network.lasttime_ms / 1000, UTC), ident=detail.identity(network), points_json=json.dumps(points),
        places_json=json.dumps(places),
        timeline_json=json.dumps(timeline), sighting_total=total, ssids=detail.ssid_history(network.id),
        nearest=nearest, place=place, home_km=haversine_m(*where, home.lat, home.lon) / 1000 if where and home else None,
        notes=[(n, detail.render_markdown(n.note)) for n in notes], note_people=people,
        note_form=forms.pop("note_form", None) or NoteForm(), media_form=forms.pop("media_form", None) or MediaForm(),
        media_rows=detail.list_media(network.id), media_limit_mb=media.max_bytes() // (1024 * 1024),
        basemap=basemap, same_device=tracker_links.possibly_same_device(network), **parts)
    # The small sightings map draws streets from the same tile host as the big map.
    return allow_basemap(make_response(body, status), basemap)


@bp.get("/networks/<int:network_id>")
@require("data.read")
def network_detail(network_id: int):
    """Everything known about one network, with its score explained factor by factor."""
    return _page(get_scoped_or_404(NetworkModel, network_id))


@bp.get("/networks/<int:network_id>/score")
@require("data.read")
def network_score(network_id: int):
    """The score block alone (refreshed after a tag change)."""
    return _page(get_scoped_or_404(NetworkModel, network_id), block="score_block")


def _tags_answer(network: NetworkModel, message: str):
    """The tags block with the tagged event for htmx; a redirect for a plain form."""
    if not is_htmx():
        flash(message, "success")
        return redirect_after_post("wireless.network_detail", network_id=network.id)
    response = make_response(render_page(TEMPLATE, block="tags_block", **_tag_context(network)))
    return hx_trigger(response, TAGGED_EVENT, {"network_id": network.id, "level": network.threat_level})


@bp.post("/networks/<int:network_id>/tags")
@require("data.write")
def network_tag(network_id: int):
    """Tag a network; it is rescored at once and the score block refreshes."""
    network = get_scoped_or_404(NetworkModel, network_id)
    form = TagForm()
    if not form.validate_on_submit():
        if is_htmx():
            return render_page(TEMPLATE, block="tags_block", status=INVALID_FORM_STATUS,
                               **_tag_context(network, form))
        return _page(network, INVALID_FORM_STATUS, tag_form=form)
    detail.add_tag(network, form.tag.data, form.confidence.data, form.notes.data, current_user._get_current_object())
    db.session.commit()
    return _tags_answer(network, f"Tagged {form.tag.data}; the score is now {network.threat_score_v2} "
                                 f"({network.threat_level}).")


@bp.post("/networks/<int:network_id>/tags/<int:tag_id>/remove")
@require("data.write")
def network_untag(network_id: int, tag_id: int):
    """Remove a tag (kept in the history) and rescore the network."""
    network = get_scoped_or_404(NetworkModel, network_id)
    tag = get_scoped_or_404(NetworkTag, tag_id)
    try:
        detail.remove_tag(network, tag, current_user._get_current_object())
    except detail.TagError as exc:
        abort(409 if tag.network_id == network.id else 404, str(exc))
    db.session.commit()
    return _tags_answer(network, f"Removed the {tag.tag} tag.")


@bp.post("/networks/<int:network_id>/notes")
@require("data.write")
def network_note_add(network_id: int):
    """Add a markdown note to a network."""
    network = get_scoped_or_404(NetworkModel, network_id)
    form = NoteForm()
    if not form.validate_on_submit():
        return _page(network, INVALID_FORM_STATUS, note_form=form)
    detail.add_note(network, form.note.data, current_user._get_current_object())
    db.session.commit()
    flash("Note added.", "success")
    return redirect_after_post("wireless.network_detail", network_id=network.id)


@bp.post("/notes/<int:note_id>/delete")
@require("data.write")
def network_note_delete(note_id: int):
    """Delete a note."""
    note = get_scoped_or_404(NetworkNote, note_id)
    network_id = note.network_id
    detail.delete_note(note)
    db.session.commit()
    flash("Note deleted.", "success")
    return redirect_after_post("wireless.network_detail", network_id=network_id)


@bp.post("/networks/<int:network_id>/media")
@require("data.write")
def network_media_upload(network_id: int):
    """Attach a file to a network (type sniffed from its content, size limited)."""
    network = get_scoped_or_404(NetworkModel, network_id)
    form = MediaForm()
    if not form.validate_on_submit():
        return _page(network, INVALID_FORM_STATUS, media_form=form)
    upload = form.file.data
    try:
        media.save_upload(network, upload.stream, upload.filename, form.description.data,
                          current_user._get_current_object())
    except media.MediaError as exc:
        db.session.rollback()
        form.file.errors = [str(exc)]
        return _page(network, exc.status, media_form=form)
    db.session.commit()
    flash(f"{upload.filename} attached.", "success")
    return redirect_after_post("wireless.network_detail", network_id=network.id)


def _send(row: NetworkMedia, thumbnail: bool):
    path = media.file_of(row, thumbnail=thumbnail)
    if path is None:
        abort(404)
    inline = thumbnail or row.media_type == "image"
    response = send_file(path, mimetype="image/jpeg" if thumbnail else row.mime_type,
                         as_attachment=not inline, download_name=row.original_filename, conditional=True,
                         max_age=0)
    # Served bytes run nothing: no sniffing, no scripts even if a browser mis-parses one.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/media/<int:media_id>")
@require("data.read")
def network_media_file(media_id: int):
    """Download (documents, audio, video) or show (images) an attachment."""
    return _send(get_scoped_or_404(NetworkMedia, media_id), thumbnail=False)


@bp.get("/media/<int:media_id>/thumbnail")
@require("data.read")
def network_media_thumbnail(media_id: int):
    """An image attachment's thumbnail."""
    row = get_scoped_or_404(NetworkMedia, media_id)
    if not row.thumbnail_path:
        abort(404)
    return _send(row, thumbnail=True)


@bp.post("/media/<int:media_id>/delete")
@require("data.write")
def network_media_delete(media_id: int):
    """Delete an attachment (audited; the files go once the deletion is committed)."""
    row = get_scoped_or_404(NetworkMedia, media_id)
    network_id = row.network_id
    files = media.delete_media(row)
    db.session.commit()
    media.remove_files(files)
    flash("Attachment deleted.", "success")
    return redirect_after_post("wireless.network_detail", network_id=network_id)
