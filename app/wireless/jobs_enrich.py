"""Background enrichment of the wireless domain: WiGLE lookups and reverse geocoding.

Both jobs talk to outside services, so (like notification delivery) they commit each
result as it arrives instead of holding one transaction for the whole run: a WiGLE call
that was made stays in the quota ledger even when a later step fails. Starting a job is
audited where it is started (`start_*`); the job audits its outcome in one short write.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app import audit
from app.jobs import enqueue, job
from app.jobs.runner import JobError
from app.models import JobRun, db
from app.wireless.geocoding import PROVIDER_NAMES, GeocoderError
from app.wireless.geocoding.batch import SCOPES, geocode_networks
from app.wireless.wigle.enrich import APIS, EnrichError, enrich, never_enriched_ids

MAX_BATCH = 1000


def _limit(value: Any, default: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return max(1, min(MAX_BATCH, number))


@job("wireless.wigle_enrich", title="Enrich networks from WiGLE", queue="low", timeout=3600)
def wigle_enrich(ctx, network_ids: list[int] | None = None, limit: int = 50, user_requested: bool = False,
                 api: str = "v3", **_params: Any) -> dict:
    """Look networks up on WiGLE: the given ids, or the never-enriched ones (highest threat first)."""
    ids = [int(i) for i in network_ids] if network_ids else never_enriched_ids(ctx.org_id, _limit(limit, 50))
    try:
        report = enrich(ctx.org_id, ids, user_requested=bool(user_requested and network_ids), api=api,
                        progress=ctx.progress)
    except EnrichError as exc:
        raise JobError(str(exc)) from exc
    result = report.as_dict()
    audit.record("wireless.wigle_enrich_finished", resource_type="job_run", resource_id=ctx.run_id,
                 org_id=ctx.org_id, actor_type="job", actor_label=f"job {ctx.kind} #{ctx.run_id}",
                 result="partial" if report.stopped else "success",
                 details={k: result[k] for k in ("enriched", "not_found", "failed", "skipped", "stopped")})
    return result


@job("wireless.geocode", title="Reverse-geocode network positions", queue="low", timeout=3600)
def geocode(ctx, provider: str = "offline", limit: int = 200, scope: str = "networks", **_params: Any) -> dict:
    """Reverse-geocode the organization's network (or sighting) positions that have no cached answer."""
    try:
        report = geocode_networks(ctx.org_id, provider, limit=_limit(limit, 200), progress=ctx.progress,
                                  scope=scope)
    except GeocoderError as exc:
        raise JobError(str(exc)) from exc
    result = report.as_dict()
    audit.record("wireless.geocode_finished", resource_type="job_run", resource_id=ctx.run_id,
                 org_id=ctx.org_id, actor_type="job", actor_label=f"job {ctx.kind} #{ctx.run_id}",
                 result="partial" if report.stopped else "success",
                 details={k: result[k] for k in ("provider", "geocoded", "no_result", "failed", "stopped")})
    return result


def background_batch_pending(org_id: int) -> bool:
    """A never-enriched batch of this organization is queued or running."""
    runs = db.session.scalars(sa.select(JobRun.params).where(
        JobRun.org_id == org_id, JobRun.kind == "wireless.wigle_enrich", JobRun.status.in_(("queued", "running"))))
    return any(not (params or {}).get("network_ids") for params in runs)


def start_wigle_enrich(org_id: int, *, actor: Any = None, actor_label: str | None = None,
                       network_ids: list[int] | None = None, limit: int = 50, api: str = "v3") -> JobRun:
    """Queue a WiGLE enrichment (a user's selection counts as user-requested) and audit it."""
    if api not in APIS:
        raise EnrichError(f"Unknown WiGLE API {api!r}.")
    if not network_ids and background_batch_pending(org_id):
        # Two batches would check the same quota and both spend it.
        raise EnrichError("A WiGLE enrichment batch is already queued or running for this organization.")
    params: dict[str, Any] = {"limit": _limit(limit, 50), "api": api}
    if network_ids:
        params.update(network_ids=[int(i) for i in network_ids][:MAX_BATCH], user_requested=actor is not None)
    run = enqueue("wireless.wigle_enrich", org_id=org_id, requested_by_id=getattr(actor, "id", None), **params)
    audit.record("wireless.wigle_enrich_started", resource_type="job_run", resource_id=run.id, org_id=org_id,
                 actor=actor, actor_label=actor_label, actor_type=None if actor else "system",
                 details={"networks": len(network_ids or []) or None, "limit": params["limit"], "api": api})
    return run


def start_geocode(org_id: int, *, provider: str = "offline", limit: int = 200, scope: str = "networks",
                  actor: Any = None, actor_label: str | None = None) -> JobRun:
    """Queue a reverse-geocoding batch and audit it."""
    if provider not in PROVIDER_NAMES:
        raise GeocoderError(f"Unknown geocoding provider {provider!r}.")
    if scope not in SCOPES:
        raise GeocoderError(f"Unknown scope {scope!r}.")
    run = enqueue("wireless.geocode", org_id=org_id, requested_by_id=getattr(actor, "id", None),
                  provider=provider, limit=_limit(limit, 200), scope=scope)
    audit.record("wireless.geocode_started", resource_type="job_run", resource_id=run.id, org_id=org_id,
                 actor=actor, actor_label=actor_label, actor_type=None if actor else "system",
                 details={"provider": provider, "limit": _limit(limit, 200), "scope": scope})
    return run
