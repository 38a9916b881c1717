"""Wireless providers: the organization's WiGLE and geocoder credentials (admins set, test
and clear them), the WiGLE quota, and starting enrichment and geocoding batches."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, request
from flask_login import current_user

from app import crypto
from app.models import GeocodingCache, Network, db
from app.permissions import can, require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id, scoped
from app.wireless import jobs_enrich as jobs
from app.wireless.blueprint import bp
from app.wireless.geocoding import GeocoderError, online
from app.wireless.wigle import client as wc
from app.wireless.wigle import credentials as creds
from app.wireless.wigle.enrich import EnrichError, make_client, wigle_context
from app.wireless.wigle.forms import CredentialForm, EnrichForm, GeocodeForm
from app.wireless.wigle.quota import quota_state, recent_calls

# A fixed, public place for a geocoder's Test button (Westminster, London): no org data leaves.
TEST_POINT = (51.5007, -0.1246)


def _provider_or_404(provider: str) -> creds.ProviderSpec:
    spec = creds.PROVIDERS.get(provider)
    if spec is None:
        abort(404)
    return spec


def _credential_form(key: str, row, submitted: CredentialForm | None) -> CredentialForm:
    """The provider's form, labelled for what it holds, showing the stored API name (never the secret)."""
    spec = creds.PROVIDERS[key]
    form = submitted or CredentialForm(prefix=key)
    form.api_name.label.text = spec.name_label or "API name"
    form.secret.label.text = spec.secret_label
    if submitted is None and row is not None:
        form.api_name.data = row.api_name
    return form


def _page(status: int = 200, forms: dict | None = None, **extra):
    org_id = require_org_id()
    forms = forms or {}
    stored = creds.org_credentials(org_id)
    geocode_form = extra.pop("geocode_form", None) or GeocodeForm(prefix="geocode")
    # Only the providers this organization has set up (offline needs nothing).
    geocode_form.provider.choices = [c for c in geocode_form.provider.choices
                                     if c.value == "offline" or c.value in stored]
    cache_count = db.session.scalar(sa.select(sa.func.count()).select_from(scoped(GeocodingCache).subquery()))
    never = db.session.scalar(sa.select(sa.func.count()).select_from(
        scoped(Network).where(Network.wigle_enriched_at.is_(None), Network.type.in_(("W", "B", "E"))).subquery()))
    return render_page(
        "wireless/providers.html", block="provider_body", status=status,
        providers=creds.PROVIDERS, stored=stored,
        forms={key: _credential_form(key, stored.get(key), forms.get(key)) for key in creds.PROVIDERS},
        enrich_form=extra.pop("enrich_form", None) or EnrichForm(prefix="enrich"), geocode_form=geocode_form,
        quota=quota_state(org_id), calls=recent_calls(org_id), cache_count=cache_count, never_enriched=never,
        **extra)


@bp.get("/providers")
@require("org.edit_own")
def providers():
    """WiGLE and geocoder credentials, the WiGLE quota and the enrichment batches."""
    return _page()


@bp.post("/providers/<provider>/credential")
@require("org.edit_own")
def provider_set(provider: str):
    """Save (or replace) the organization's credential for a provider."""
    spec = _provider_or_404(provider)
    form = CredentialForm(prefix=provider)
    if form.validate_on_submit():
        try:
            creds.set_credential(require_org_id(), provider, api_name=form.api_name.data,
                                 secret=form.secret.data, actor=current_user._get_current_object())
        except creds.CredentialError as exc:
            db.session.rollback()
            form.secret.errors = [*form.secret.errors, str(exc)]
        else:
            db.session.commit()
            flash(f"{spec.label} credential saved.", "success")
            return redirect_after_post("wireless.providers")
    return _page(INVALID_FORM_STATUS, forms={provider: form})


@bp.post("/providers/<provider>/clear")
@require("org.edit_own")
def provider_clear(provider: str):
    """Delete the organization's credential for a provider."""
    spec = _provider_or_404(provider)
    if creds.clear_credential(require_org_id(), provider, actor=current_user._get_current_object()):
        db.session.commit()
        flash(f"{spec.label} credential removed.", "success")
    else:
        flash(f"No {spec.label} credential was set.", "info")
    return redirect_after_post("wireless.providers")


@bp.post("/providers/<provider>/test")
@require("org.edit_own")
def provider_test(provider: str):
    """Try the stored credential once (WiGLE: the profile call; geocoders: a fixed public point)."""
    spec = _provider_or_404(provider)
    org_id = require_org_id()
    row = creds.get_credential(org_id, provider)
    if row is None:
        flash(f"Set a {spec.label} credential first.", "warning")
        return redirect_after_post("wireless.providers")
    try:
        service = make_client(org_id) if provider == "wigle" else online.for_org(provider, org_id)
        db.session.commit()  # nothing held open while the provider answers
        if provider == "wigle":
            profile = service.profile()
            message = f"WiGLE accepted the credential (user {profile.get('userid') or '?'})"
        else:
            place = service.reverse(*TEST_POINT)
            message = f"{spec.label} answered: {place.venue_name or place.address or 'a place'}"
        ok = True
    except (wc.WigleError, GeocoderError, EnrichError, crypto.DecryptionError) as exc:
        ok, message = False, str(exc)
    row = creds.get_credential(org_id, provider)
    creds.record_test(row, ok, message, actor=current_user._get_current_object())
    db.session.commit()
    flash(message, "success" if ok else "danger")
    return redirect_after_post("wireless.providers")


@bp.post("/wigle/enrich")
@require("data.write")
def wigle_enrich_start():
    """Queue a WiGLE batch over networks never enriched (highest threat first)."""
    form = EnrichForm(prefix="enrich")
    if not form.validate_on_submit():
        if not can("org.edit_own"):
            abort(INVALID_FORM_STATUS, "Enter a number of networks from 1 to 1000.")
        return _page(INVALID_FORM_STATUS, enrich_form=form)
    try:
        run = jobs.start_wigle_enrich(require_org_id(), actor=current_user._get_current_object(),
                                      limit=form.limit.data, api=form.api.data)
    except EnrichError as exc:
        db.session.rollback()
        flash(str(exc), "warning")
        return redirect_after_post("wireless.providers")
    db.session.commit()
    return redirect_after_post("jobs.detail", run_id=run.id)


@bp.post("/wigle/enrich-selected")
@require("data.write")
def wigle_enrich_selected():
    """Queue a WiGLE lookup of the selected networks (user-requested: runs past the soft limit)."""
    raw = request.form.getlist("network_id")
    if not raw:
        # The explorer's button with no row ticked: say so on the page, not on an error page.
        flash("Select at least one network to look up on WiGLE.", "warning")
        return redirect_after_post("wireless.network_list")
    if len(raw) > jobs.MAX_BATCH or not all(v.isdecimal() for v in raw):
        abort(400, "Select from 1 to 1000 networks.")
    ids = list(dict.fromkeys(int(v) for v in raw))
    found = set(db.session.scalars(scoped(Network).with_only_columns(Network.id).where(Network.id.in_(ids))))
    if found != set(ids):
        abort(404)
    run = jobs.start_wigle_enrich(require_org_id(), actor=current_user._get_current_object(), network_ids=ids)
    db.session.commit()
    return redirect_after_post("jobs.detail", run_id=run.id)


@bp.post("/networks/<int:network_id>/wigle")
@require("data.write")
def network_wigle_enrich(network_id: int):
    """Queue a WiGLE lookup of one network (user-requested)."""
    network = get_scoped_or_404(Network, network_id)
    if network.type not in ("W", "B", "E"):
        abort(400, "WiGLE detail covers Wi-Fi and Bluetooth networks only.")
    run = jobs.start_wigle_enrich(require_org_id(), actor=current_user._get_current_object(),
                                  network_ids=[network.id])
    db.session.commit()
    return redirect_after_post("jobs.detail", run_id=run.id)


@bp.get("/networks/<int:network_id>/wigle")
@require("data.read")
def network_wigle(network_id: int):
    """A network's WiGLE data (the partial the network page includes)."""
    network = get_scoped_or_404(Network, network_id)
    return render_page("wireless/_wigle_detail.html", **wigle_context(network))


@bp.post("/geocode")
@require("data.write")
def geocode_start():
    """Queue reverse geocoding of network positions that have no cached answer."""
    form = GeocodeForm(prefix="geocode")
    if not form.validate_on_submit():
        abort(INVALID_FORM_STATUS, "Choose a provider and a number of positions from 1 to 1000.")
    if form.provider.data != "offline" and creds.get_credential(require_org_id(), form.provider.data) is None:
        abort(400, f"{form.provider.data} is not set up for this organization.")
    try:
        run = jobs.start_geocode(require_org_id(), provider=form.provider.data, limit=form.limit.data,
                                 scope=form.scope.data, actor=current_user._get_current_object())
    except GeocoderError as exc:
        abort(400, str(exc))
    db.session.commit()
    return redirect_after_post("jobs.detail", run_id=run.id)
