"""Score snapshots as jobs: one organization on a value change, every organization nightly."""

from __future__ import annotations

from app import audit
from app.jobs import job
from app.metrics import ai, catalogs, live, services
from app.metrics.mapping import metric_text
from app.models import MetricCatalog, User, db


@job("metrics.recompute", title="Recompute metric scores", queue="default", timeout=300)
def recompute(ctx, **_params) -> dict:
    """Write function and framework score snapshots for the run's organization."""
    row = services.snapshot(ctx.org_id)
    if row is None:
        return {"message": "Nothing to score yet", "snapshots": 0}
    return {"message": f"Overall score {row.overall_score} ({row.overall_rating})", "snapshots": 1}


@job("metrics.snapshot_all", title="Snapshot metric scores of every organization", queue="low", timeout=1800)
def snapshot_all(ctx, **_params) -> dict:
    """Nightly: write score snapshots for every organization that has metrics."""
    orgs = services.orgs_with_metrics()
    written = 0
    for i, org_id in enumerate(orgs, 1):
        written += services.snapshot(org_id) is not None
        db.session.commit()  # each organization is its own unit of work
        ctx.progress(int(i * 100 / len(orgs)), f"{i} of {len(orgs)} organizations scored")
    return {"message": f"{written} snapshot(s) written", "orgs": len(orgs), "snapshots": written}


@job("metrics.refresh_live", title="Refresh live metrics", queue="low", timeout=600)
def refresh_live(ctx, **_params) -> dict:
    """Run the live metric queries (for the run's organization, or every one) and snapshot changed orgs."""
    changed = live.refresh(ctx.org_id)
    for org_id, n in changed.items():
        if n:
            services.snapshot(org_id)
    values = sum(changed.values())
    return {"message": f"{values} live value(s) changed in {len(changed)} organization(s)", "values": values}


@job("metrics.ai_suggest", title="Ask the AI provider for mapping suggestions", queue="low", timeout=1800)
def ai_suggest(ctx, catalog_id: int, **_params) -> dict:
    """Ask the organization's AI provider about each item of a catalog (offline ones stay)."""
    catalog = db.session.get(MetricCatalog, catalog_id)
    framework = services.current_framework()
    if catalog is None or catalog.org_id != ctx.org_id or framework is None:
        return {"message": "Nothing to do", "items": 0}
    provider = ai.configured_provider(ctx.org_id, catalogs.subcategory_texts(framework))
    if provider is None:
        return {"message": "No AI provider is configured", "items": 0}
    work = [(i.id, metric_text(i.name, i.description, i.unit), i.function_code) for i in catalog.items]
    framework_id, user_id = framework.id, ctx.requested_by_id
    db.session.commit()  # no transaction stays open while the provider answers
    asked = failed = 0
    for n, (item_id, text, function_code) in enumerate(work, 1):
        user = db.session.get(User, user_id) if user_id else None
        try:
            found = provider.suggest(text, function_code, catalogs.TOP_SUGGESTIONS)
            have = catalogs.item_subcategory_ids(item_id)
            found = [s for s in found if s.key not in have]  # the offline matcher already offered these
        except ai.AiProviderError as exc:
            failed += 1
            catalogs.log_change(ctx.org_id, "mapping.failed", "catalog_ai", user=user, provider=provider,
                                prompt=text, result={"error": str(exc)[:300]},
                                resource=("metric_catalog_item", item_id))
        else:
            asked += 1
            catalogs.store_suggestions(ctx.org_id, provider, framework_id, text, found, user, "catalog_ai",
                                       tokens=provider.tokens_used or None, catalog_item_id=item_id)
        db.session.commit()  # each answer is kept as it comes
        ctx.progress(int(n * 100 / max(1, len(work))), f"{n} of {len(work)} items asked")
    audit.record("metric_catalog.ai_suggested", resource_type="metric_catalog", resource_id=catalog_id,
                 org_id=ctx.org_id, actor_type="system", actor_label="metrics.ai_suggest",
                 details={"provider": provider.name, "model": provider.model, "answered": asked, "failed": failed})
    return {"message": f"{asked} item(s) answered, {failed} failed", "items": asked, "failed": failed}
