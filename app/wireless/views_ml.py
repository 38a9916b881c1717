"""Learned threat models: labels available, training runs, activation and the blend weight."""

from __future__ import annotations

from flask import abort, flash, request
from flask_login import current_user

from app import audit
from app.jobs import enqueue
from app.models import db
from app.models.wireless import MlModelMetadata, MlTrainingHistory
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id, scoped
from app.wireless import ml, org_settings
from app.wireless.blueprint import bp


def _page(status: int = 200, weight_error: str | None = None):
    org_id = require_org_id()
    models = db.session.scalars(scoped(MlModelMetadata).order_by(MlModelMetadata.trained_at.desc())).all()
    history = {h.model_id: h for h in db.session.scalars(
        scoped(MlTrainingHistory).where(MlTrainingHistory.model_id.in_([m.id for m in models])))}
    pairs = ml.labelled_networks(org_id)
    positives = sum(label for _, label in pairs)
    return render_page("wireless/ml.html", status=status, models=models, history=history,
                       positives=positives, negatives=len(pairs) - positives, minimum=ml.MIN_PER_CLASS,
                       model_types=ml.MODEL_TYPES, weight=org_settings.ml_weight(org_id),
                       weight_error=weight_error, features=ml.FEATURES)


@bp.get("/models")
@require("data.read")
def ml_models():
    """Trained models with their cross-validated metrics, and what training needs."""
    return _page()


@bp.post("/models/train")
@require("data.write")
def ml_train():
    """Queue training of the chosen model types (all three by default)."""
    org_id = require_org_id()
    kinds = [k for k in request.form.getlist("model_type") if k in ml.MODEL_TYPES] or list(ml.MODEL_TYPES)
    run = enqueue("wireless.train_models", org_id=org_id, requested_by_id=current_user.id, model_types=kinds)
    audit.record("wireless.model_training_requested", resource_type="job_run", resource_id=run.id,
                 details={"model_types": kinds})
    db.session.commit()
    flash("Training queued; its progress is on the Jobs page.", "info")
    return redirect_after_post("wireless.ml_models")


@bp.post("/models/<int:model_id>/activate")
@require("data.write")
def ml_activate(model_id: int):
    """Make one model the organization's active model (its score is blended into new scores)."""
    model = get_scoped_or_404(MlModelMetadata, model_id)
    try:
        ml.load(model)
    except ml.ModelRejected as exc:
        abort(409, f"This model cannot be used: {exc}.")
    ml.activate(model)
    audit.record("wireless.model_activated", resource_type="ml_model", resource_id=model.id,
                 new={"model_type": model.model_type, "version": model.version})
    db.session.commit()
    flash(f"{ml.MODEL_TYPES[model.model_type]} {model.version} is now active.", "success")
    return redirect_after_post("wireless.ml_models")


@bp.post("/models/deactivate")
@require("data.write")
def ml_deactivate():
    """Stop blending any model into scores (rule scores only)."""
    org_id = require_org_id()
    ml.deactivate_all(org_id)
    audit.record("wireless.model_deactivated", resource_type="organization", resource_id=org_id)
    db.session.commit()
    flash("No model is active: scores are rule scores only.", "info")
    return redirect_after_post("wireless.ml_models")


@bp.post("/models/weight")
@require("data.write")
def ml_weight():
    """Set how much the active model's probability weighs in the final score (0 to 1)."""
    org_id = require_org_id()
    raw = request.form.get("ml_weight", "").strip()
    try:
        weight = float(raw)
    except ValueError:
        weight = -1.0
    if not 0.0 <= weight <= 1.0:
        return _page(INVALID_FORM_STATUS, weight_error="Enter a number from 0 to 1, e.g. 0.3.")
    old = org_settings.update_wireless_policy(org_id, ml_weight=round(weight, 3))
    audit.record("wireless.ml_weight_changed", resource_type="organization", resource_id=org_id,
                 old={"ml_weight": old.get("ml_weight", org_settings.DEFAULT_ML_WEIGHT)},
                 new={"ml_weight": round(weight, 3)})
    db.session.commit()
    flash("Model weight saved; it applies from the next rescoring.", "success")
    return redirect_after_post("wireless.ml_models")
