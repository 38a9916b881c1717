"""Ghost search: the form, the merged results with a status per source, past searches,
CSV/JSON export, and the organization's API keys for the sources that need one."""

from __future__ import annotations

import csv
import io
import json

import sqlalchemy as sa
from flask import abort, current_app
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import Length, Optional

from app import audit, crypto
from app.exposure import search
from app.exposure.blueprint import bp
from app.exposure.providers import PROVIDERS
from app.exposure.providers.base import QUERY_TYPES, credential_name, stored_key
from app.forms import options
from app.models import ProviderCredential, db, utcnow
from app.models.exposure import GhostSearchQuery
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id, scoped

CSV_FIELDS = ("source", "kind", "title", "date", "count", "data_classes", "detail", "url")


class GhostSearchForm(FlaskForm):
    query_type = SelectField("Search for", choices=options((t, t) for t in QUERY_TYPES))
    value = StringField("Value", validators=[Optional(), Length(max=255)])
    # A password is typed here, sent once and never put back into the page.
    password = PasswordField("Password (only its SHA-1 prefix leaves Vigil)", validators=[Optional(), Length(max=256)])
    sources = SelectMultipleField("Sources (none chosen: all)", choices=options((k, p.label) for k, p in PROVIDERS.items()),
                                  validators=[Optional()])


class KeyForm(FlaskForm):
    secret = PasswordField("API key", validators=[Length(min=8, max=500, message="Enter the API key (8-500 characters).")])


def source_rows(record: GhostSearchQuery) -> list[dict]:
    """A search's per-source statuses with their labels, in the order they were asked."""
    return [{"source": key, "label": PROVIDERS[key].label if key in PROVIDERS else key, **state}
            for key, state in (record.source_status or {}).items()]


def _page(form: GhostSearchForm, outcome=None, error: str | None = None, status: int = 200):
    recent = db.session.scalars(scoped(GhostSearchQuery).order_by(GhostSearchQuery.id.desc()).limit(20)).all()
    return render_page("exposure/search.html", block="search_results", status=status, form=form, outcome=outcome,
                       error=error, recent=recent, source_rows=source_rows)


@bp.get("/search")
@require("exposure.manage")
def search_page():
    """The ghost search form and the organization's recent searches."""
    return _page(GhostSearchForm())


@bp.post("/search")
@require("exposure.manage")
def search_run():
    """Ask every chosen source, show merged results and each source's status; audited."""
    org_id = require_org_id()
    form = GhostSearchForm()
    if not form.validate_on_submit():
        return _page(form, status=INVALID_FORM_STATUS)
    raw = form.password.data if form.query_type.data == "password" else form.value.data
    try:
        outcome = search.run(org_id, current_user.id, form.query_type.data, raw or "", form.sources.data or None)
    except search.InvalidQuery as exc:
        db.session.rollback()
        return _page(form, error=str(exc), status=INVALID_FORM_STATUS)
    finally:
        form.password.data = ""
    db.session.commit()
    return _page(form, outcome=outcome)


@bp.get("/search/<int:query_id>")
@require("exposure.manage")
def search_detail(query_id: int):
    """A past search's merged results and source statuses."""
    record = get_scoped_or_404(GhostSearchQuery, query_id)
    return render_page("exposure/search_detail.html", record=record, sources=source_rows(record), hits=record.results)


@bp.get("/search/<int:query_id>/export.<fmt>")
@require("exposure.manage")
def search_export(query_id: int, fmt: str):
    """A past search's results as CSV or JSON (audited)."""
    record = get_scoped_or_404(GhostSearchQuery, query_id)
    if fmt not in ("csv", "json"):
        abort(404)
    audit.record("exposure.search_exported", resource_type="ghost_search_query", resource_id=record.id,
                 details={"format": fmt, "results": record.results_count})
    db.session.commit()
    name = f"ghost-search-{record.id}.{fmt}"
    headers = {"Content-Disposition": f"attachment; filename={name}"}
    if fmt == "json":
        body = json.dumps({"query_type": record.query_type, "query_value": record.query_value,
                           "searched_at": record.searched_at.isoformat(), "sources": record.source_status,
                           "results": record.results}, indent=2)
        return current_app.response_class(body, mimetype="application/json", headers=headers)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for hit in record.results or []:
        writer.writerow({**hit, "data_classes": "; ".join(hit.get("data_classes") or [])})
    return current_app.response_class(buffer.getvalue(), mimetype="text/csv", headers=headers)


def _keys_page(forms: dict | None = None, status: int = 200):
    org_id = require_org_id()
    stored = {row.provider: row for row in db.session.scalars(sa.select(ProviderCredential).where(
        ProviderCredential.org_id == org_id,
        ProviderCredential.provider.in_([credential_name(k) for k in PROVIDERS])))}
    keyed = {k: p for k, p in PROVIDERS.items() if p.needs_key}
    forms = {k: (forms or {}).get(k) or KeyForm(prefix=k) for k in keyed}
    return render_page("exposure/providers.html", status=status, keyed=keyed, stored=stored, forms=forms,
                       credential_name=credential_name)


@bp.get("/providers")
@require("org.edit_own")
def provider_keys():
    """Which sources need an API key and whether this organization stored one (never the key)."""
    return _keys_page()


@bp.post("/providers/<key>")
@require("org.edit_own")
def provider_key_set(key: str):
    """Store (seal) or replace the organization's API key for a source."""
    provider = PROVIDERS.get(key)
    if provider is None or not provider.needs_key:
        abort(404)
    org_id = require_org_id()
    form = KeyForm(prefix=key)
    if not form.validate_on_submit():
        return _keys_page({key: form}, status=INVALID_FORM_STATUS)
    name = credential_name(key)
    row = stored_key(org_id, key)
    created = row is None
    if created:
        row = ProviderCredential(org_id=org_id, provider=name, options={})
        db.session.add(row)
    row.secret_encrypted = crypto.encrypt_text(form.secret.data.strip())
    row.updated_at, row.updated_by_id = utcnow(), current_user.id
    audit.record("exposure.provider_key_set", resource_type="provider_credential", resource_id=name,
                 details={"provider": key, "created": created})
    db.session.commit()
    return redirect_after_post("exposure.provider_keys")


@bp.post("/providers/<key>/delete")
@require("org.edit_own")
def provider_key_delete(key: str):
    """Forget the organization's API key for a source."""
    if key not in PROVIDERS:
        abort(404)
    row = stored_key(require_org_id(), key)
    if row is None:
        abort(404)
    db.session.delete(row)
    audit.record("exposure.provider_key_deleted", resource_type="provider_credential", resource_id=row.provider,
                 details={"provider": key})
    db.session.commit()
    return redirect_after_post("exposure.provider_keys")
