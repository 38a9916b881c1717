"""Rescoring jobs: the organization's dirty networks (or all of them), and the periodic sweep."""

from __future__ import annotations

from app import audit
from app.jobs import job
from app.wireless import rescore


def _summary(result: rescore.RescoreResult) -> str:
    levels = ", ".join(f"{n} {level}" for level, n in sorted((result.levels or {}).items()))
    return f"{result.scored} network(s) scored" + (f": {levels}" if levels else "")


@job("wireless.rescore", title="Rescore wireless networks", queue="default", timeout=3600)
def rescore_org(ctx, everything: bool = False, **_params) -> dict:
    """Score the run's organization: networks with new sightings or tags, or all with everything=True."""
    result = rescore.rescore(ctx.org_id, everything=bool(everything),
                             progress=lambda done, total: ctx.progress(int(done * 100 / max(total, 1)),
                                                                       f"{done} of {total} networks"))
    audit.record("wireless.rescored", resource_type="organization", resource_id=ctx.org_id, org_id=ctx.org_id,
                 actor_type="job", actor_label=ctx.kind,
                 details={"scored": result.scored, "levels": result.levels, "everything": bool(everything),
                          "model_version": result.model_version})
    return {"message": _summary(result), "scored": result.scored}


@job("wireless.rescore_dirty", title="Rescore networks with new sightings", queue="low", timeout=3600)
def rescore_dirty(ctx, **_params) -> dict:
    """Periodic: every organization with networks waiting to be scored."""
    total = 0
    orgs = rescore.orgs_with_dirty_networks()
    for org_id in orgs:
        result = rescore.rescore(org_id)
        total += result.scored
    return {"message": f"{total} network(s) scored in {len(orgs)} organization(s)", "scored": total}
