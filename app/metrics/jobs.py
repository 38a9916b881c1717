"""Score snapshots as jobs: one organization on a value change, every organization nightly."""

from __future__ import annotations

from app.jobs import job
from app.metrics import services
from app.models import db


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
    from app.metrics import live

    changed = live.refresh(ctx.org_id)
    for org_id, n in changed.items():
        if n:
            services.snapshot(org_id)
    values = sum(changed.values())
    return {"message": f"{values} live value(s) changed in {len(changed)} organization(s)", "values": values}
