"""Training learned threat models as a background job."""

from __future__ import annotations

from app import audit
from app.jobs import job
from app.jobs.runner import JobError
from app.wireless import ml


@job("wireless.train_models", title="Train wireless threat models", queue="low", timeout=1800)
def train_models(ctx, model_types: list[str] | None = None, **_params) -> dict:
    """Cross-validate and fit each requested model type on the organization's tagged networks."""
    kinds = [k for k in (model_types or list(ml.MODEL_TYPES)) if k in ml.MODEL_TYPES]
    if not kinds:
        raise JobError("No known model type was requested.")
    trained = []
    for i, kind in enumerate(kinds):
        ctx.progress(int(i * 100 / len(kinds)), f"Training {ml.MODEL_TYPES[kind]}")
        try:
            model = ml.train(ctx.org_id, kind)
        except ml.TrainingRefused as exc:
            raise JobError(str(exc)) from None
        audit.record("wireless.model_trained", resource_type="ml_model", resource_id=model.id,
                     org_id=ctx.org_id, actor_type="job", actor_label=ctx.kind,
                     new={"model_type": kind, "version": model.version, "f1_score": model.f1_score,
                          "roc_auc": model.roc_auc})
        trained.append(f"{ml.MODEL_TYPES[kind]} F1 {model.f1_score:.2f}, ROC-AUC {model.roc_auc:.2f}")
    return {"message": "; ".join(trained), "models": len(trained)}
