"""Scoring settings (weights and thresholds of the one scorer) and the rescore button."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from flask import flash, request
from flask_login import current_user

from app import audit
from app.jobs import enqueue
from app.models import db
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import require_org_id
from app.wireless import org_settings, rescore
from app.wireless.blueprint import bp
from app.wireless.scoring import ScoringConfig
from app.wireless.scoring_help import FACTORS, GROUP_OF, HELP


def as_text(value: Any) -> str:
    """A setting as the form shows it: lists one per line, maps as KEY=VALUE lines."""
    if isinstance(value, dict):
        return "\n".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def from_text(raw: str, default: Any) -> Any:
    """The typed value of a form field, shaped like its default (ScoringConfig validates it)."""
    raw = raw.strip()
    if isinstance(default, dict):
        out: dict[str, Any] = {}
        for line in filter(None, (part.strip() for part in raw.replace(",", "\n").splitlines())):
            key, _, value = line.partition("=")
            try:
                out[key.strip()] = float(value)
            except ValueError:
                out[key.strip()] = value.strip()
        return out
    if isinstance(default, list):
        return [line.strip() for line in raw.splitlines() if line.strip()]
    if isinstance(default, bool):
        return raw.lower() in ("1", "true", "yes", "on")
    if isinstance(default, int | float):
        try:
            return float(raw) if "." in raw or isinstance(default, float) else int(raw)
        except ValueError:
            return raw  # ScoringConfig names the field and what it needs
    return raw


def _rows(values: dict[str, Any]) -> list[dict[str, Any]]:
    defaults = ScoringConfig().to_mapping()
    return [{"name": f.name, "value": as_text(values.get(f.name, defaults[f.name])),
             "group": GROUP_OF.get(f.name, "Other"), "help": HELP.get(f.name, ""),
             "default": as_text(defaults[f.name]), "multiline": isinstance(defaults[f.name], list | dict),
             "changed": f.name in values and values[f.name] != defaults[f.name]}
            for f in fields(ScoringConfig)]


@bp.get("/scoring")
@require("data.read")
def scoring_settings():
    """The scorer's weights and thresholds for this organization, with their defaults."""
    stored = org_settings.wireless_policy(require_org_id()).get("scoring") or {}
    return render_page("wireless/scoring.html", rows=_rows(stored), error=None, factors=FACTORS)


@bp.post("/scoring")
@require("org.edit_own")
def scoring_save():
    """Validate and store changed scoring settings; networks are rescored with them."""
    org_id = require_org_id()
    defaults = ScoringConfig().to_mapping()
    submitted = {name: from_text(request.form.get(name, ""), default) for name, default in defaults.items()
                 if name in request.form}
    changed = {k: v for k, v in submitted.items() if v != defaults[k]}
    try:
        config = ScoringConfig.from_mapping(changed)
    except ValueError as exc:
        return render_page("wireless/scoring.html", status=INVALID_FORM_STATUS,
                           rows=_rows({**defaults, **submitted}), error=str(exc), factors=FACTORS)
    stored = {k: v for k, v in config.to_mapping().items() if v != defaults[k]}
    if stored == (org_settings.wireless_policy(org_id).get("scoring") or {}):
        flash("No setting changed; the scores stand.", "info")
        return redirect_after_post("wireless.scoring_settings")
    old = org_settings.update_wireless_policy(org_id, scoring=stored)
    # Every score depends on the settings: all of the organization's networks are due, and
    # stay marked until scored, should the queued run be lost.
    marked = rescore.mark_dirty(org_id)
    run = enqueue("wireless.rescore", org_id=org_id, requested_by_id=current_user.id, everything=True)
    audit.record("wireless.scoring_settings_changed", resource_type="organization", resource_id=org_id,
                 old={"scoring": old.get("scoring") or {}}, new={"scoring": stored},
                 details={"rescore_run": run.id, "networks_marked": marked})
    db.session.commit()
    flash("Scoring settings saved; every network is being rescored with them.", "success")
    return redirect_after_post("wireless.scoring_settings")


@bp.post("/rescore")
@require("data.write")
def rescore_all():
    """Queue a full rescore of the organization's networks."""
    org_id = require_org_id()
    run = enqueue("wireless.rescore", org_id=org_id, requested_by_id=current_user.id, everything=True)
    audit.record("wireless.rescore_requested", resource_type="job_run", resource_id=run.id)
    db.session.commit()
    flash("Rescoring queued; its progress is on the Jobs page.", "info")
    return redirect_after_post("wireless.scoring_settings")


