"""Running and storing scans: the rules around `scanner.run()`.

- An active scan needs a verified domain (SurfaceError otherwise), and even then only
  in-scope hosts are probed (`domains.in_scope`).
- Every scan is kept (`xasm_scan_history`, plus `lightbox_*` rows for active ones); the
  latest is cached per domain (`asm_scans`, `cached_asm_scans`) and offered to reports for
  48 h (`scan_results_*`).
- Findings are tracked across scans by fingerprint: new, unchanged, fixed (a passive scan
  only judges passive findings), and a new high or critical finding is notified once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa

from app import audit
from app.alerting.events import publish
from app.indicators.store import match_ip
from app.jobs import enqueue
from app.models import (
    AsmScan,
    CachedAsmScan,
    JobRun,
    LightboxFinding,
    LightboxScan,
    LightboxScanHistory,
    ScanResultLightbox,
    ScanResultXasm,
    SurfaceAsset,
    SurfaceDomain,
    XasmScanHistory,
    db,
    utcnow,
)
from app.surface import scanner
from app.surface.domains import SCHEDULE_INTERVALS, SurfaceError, in_scope

RESULTS_HOURS = 48
NOTIFY_SEVERITIES = ("high", "critical")
PASSIVE_SOURCES = ("xasm",)


def fingerprint(finding_type: str, asset: str) -> str:
    return hashlib.sha256(f"{finding_type}|{asset}".encode()).hexdigest()


def start_scan(row: SurfaceDomain, *, active: bool, actor=None) -> int:
    """Queue a scan job (audited); returns the JobRun id."""
    if active and row.state != "verified":
        raise SurfaceError(f"{row.domain} is not verified: only passive discovery may run on it")
    if scan_in_progress(row) is not None:
        raise SurfaceError(f"a scan of {row.domain} is already queued or running")
    run = enqueue("surface.scan", org_id=row.org_id, requested_by_id=getattr(actor, "id", None),
                  domain_id=row.id, active=active)
    audit.record("surface.scan_requested", resource_type="surface_domain", resource_id=row.id, org_id=row.org_id,
                 details={"active": active, "job_run_id": run.id}, actor=actor)
    return run.id


def scan_in_progress(row: SurfaceDomain) -> JobRun | None:
    runs = db.session.scalars(sa.select(JobRun).where(JobRun.org_id == row.org_id, JobRun.kind == "surface.scan",
                                                      JobRun.status.in_(("queued", "running")))).all()
    return next((r for r in runs if (r.params or {}).get("domain_id") == row.id), None)


def intel_lookup(org_id: int) -> Callable[[str], dict | None]:
    def lookup(address: str) -> dict | None:
        hit = match_ip(org_id, address)
        if hit is None:
            return None
        return {"indicator": hit.indicator_value, "threat_type": hit.threat_type, "severity": hit.severity}
    return lookup


def execute(domain_id: int, *, active: bool, progress: Callable[[int, str], None] = lambda p, m: None,
            user_id: int | None = None, job_run_id: int | None = None) -> XasmScanHistory:
    """Scan now (in the caller's process) and store everything; the caller commits."""
    row = db.session.get(SurfaceDomain, domain_id)
    if row is None or row.deleted_at is not None:
        raise SurfaceError("that domain is not listed")
    if active and row.state != "verified":
        raise SurfaceError(f"{row.domain} is not verified: only passive discovery may run on it")
    snapshot = SurfaceDomain(domain=row.domain, state=row.state, scope_exclusions=list(row.scope_exclusions or []))
    org_id, domain = row.org_id, row.domain
    # Nothing is written yet: end the read transaction before minutes of network I/O.
    db.session.commit()
    plan = scanner.ScanPlan(domain, active=active, in_scope=lambda host: in_scope(snapshot, host),
                            progress=progress, intel_lookup=intel_lookup(org_id))
    result = scanner.run(plan)
    return store(org_id, domain_id, result, user_id=user_id, job_run_id=job_run_id)


def store(org_id: int, domain_id: int, result: dict, *, user_id: int | None = None,
          job_run_id: int | None = None) -> XasmScanHistory:
    row = db.session.get(SurfaceDomain, domain_id)
    now = utcnow()
    risk = result["risk"]
    diff = track_findings(row, result, user_id)
    history = XasmScanHistory(org_id=org_id, domain_id=row.id, scan_id=result["scan_id"], target=row.domain,
                              scanned_at=now, results_json=result, active=result["active"], job_run_id=job_run_id,
                              risk_score=risk["score"], risk_level=risk["level"], user_id=user_id,
                              summary_stats={"counts": result["risk_inputs"], "diff": diff,
                                             "findings": len(result["findings"])})
    db.session.add(history)
    row.risk_score, row.risk_level, row.last_scan_at = risk["score"], risk["level"], now
    if row.scan_schedule in SCHEDULE_INTERVALS:
        row.next_scan_at = now + SCHEDULE_INTERVALS[row.scan_schedule]
    cache_latest(row, result, user_id)
    record_assets(row, result)
    if result["active"]:
        store_lightbox(row, result, user_id)
    db.session.flush()
    audit.record("surface.scan_completed", resource_type="surface_domain", resource_id=row.id, org_id=org_id,
                 details={"scan_id": result["scan_id"], "active": result["active"], "risk_score": risk["score"],
                          "new": len(diff["new"]), "fixed": len(diff["fixed"])},
                 actor_type="system", actor_label="surface scan")
    return history


def upsert(model, org_id: int, key: dict, values: dict):
    obj = db.session.scalar(sa.select(model).filter_by(org_id=org_id, **key))
    if obj is None:
        obj = model(org_id=org_id, **key)
        db.session.add(obj)
    for name, value in values.items():
        setattr(obj, name, value)
    obj.deleted_at = None
    return obj


def cache_latest(row: SurfaceDomain, result: dict, user_id: int | None) -> None:
    now, counts, risk = utcnow(), result["risk_inputs"], result["risk"]
    upsert(AsmScan, row.org_id, {"domain": row.domain},
           {"scan_results": {"scan_id": result["scan_id"], "risk": risk, "findings": len(result["findings"])},
            "scanned_at": now, "risk_score": risk["score"], "risk_level": risk["level"],
            "vulnerabilities_found": len(result["findings"]), "user_id": user_id})
    upsert(CachedAsmScan, row.org_id, {"domain": row.domain},
           {"scanned_at": now, "risk_score": risk["score"], "risk_level": risk["level"],
            "total_cves": len(result["cves"]), "critical_cves": counts["critical_cves"],
            "vulnerabilities_found": len(result["findings"]), "open_ports_count": len(result["open_ports"]),
            "scan_results": result, "user_id": user_id})
    upsert(ScanResultXasm, row.org_id, {"company": row.domain},
           {"results_json": result, "scan_date": now, "expires_at": now + timedelta(hours=RESULTS_HOURS),
            "user_id": user_id})


def store_lightbox(row: SurfaceDomain, result: dict, user_id: int | None) -> None:
    now = utcnow()
    tests = result["lightbox"]
    failed = [f for f in result["findings"] if f["source"] == "lightbox"]
    by_severity = {s: sum(1 for f in failed if f["severity"] == s) for s in ("critical", "high", "medium", "low")}
    db.session.add(LightboxScan(org_id=row.org_id, domain=row.domain, scan_id=result["scan_id"], scanned_at=now,
                                total_findings=len(failed), critical_count=by_severity["critical"],
                                high_count=by_severity["high"], medium_count=by_severity["medium"],
                                low_count=by_severity["low"], findings=failed,
                                scan_metadata={"hosts": result.get("probed_hosts", [])}, user_id=user_id))
    db.session.add(LightboxScanHistory(org_id=row.org_id, domain_id=row.id, scan_id=result["scan_id"],
                                       target=row.domain, scanned_at=now, results_json={"tests": tests},
                                       summary_stats=by_severity, total_tests=len(tests),
                                       passed_tests=sum(1 for t in tests if t["passed"]),
                                       failed_tests=sum(1 for t in tests if not t["passed"]), user_id=user_id))
    upsert(ScanResultLightbox, row.org_id, {"company": row.domain},
           {"results_json": {"tests": tests, "findings": failed}, "scan_date": now,
            "expires_at": now + timedelta(hours=RESULTS_HOURS), "user_id": user_id})


def record_assets(row: SurfaceDomain, result: dict) -> None:
    now = utcnow()
    items: list[tuple[str, str, dict]] = []
    for host in result["hosts"]:
        if host["name"] != row.domain:
            items.append(("subdomain", host["name"], host))
    items += [("address", a, {}) for a in result["addresses"]]
    items += [("port", f"{p['host']}:{p['port']}", p) for p in result["open_ports"]]
    items += [("certificate", f"{t['host']}:{t['port']}", t) for t in result["tls"]]
    items += [("cloud", c["host"], c) for c in result["cloud_assets"]]
    existing = {(a.asset_type, a.value): a for a in db.session.scalars(
        sa.select(SurfaceAsset).where(SurfaceAsset.domain_id == row.id))}
    for asset_type, value, details in items:
        asset = existing.get((asset_type, value[:500]))
        if asset is None:
            asset = SurfaceAsset(org_id=row.org_id, domain_id=row.id, asset_type=asset_type, value=value[:500],
                                 first_seen_at=now)
            db.session.add(asset)
            existing[(asset_type, value[:500])] = asset
        asset.details, asset.last_seen_at, asset.last_scan_id = details, now, result["scan_id"]


def track_findings(row: SurfaceDomain, result: dict, user_id: int | None) -> dict:
    """Upsert this scan's findings; mark what it no longer sees fixed; notify new high/critical once."""
    now = utcnow()
    current = {fingerprint(f["type"], f["asset"]): f for f in result["findings"]}
    stored = {f.fingerprint: f for f in db.session.scalars(
        sa.select(LightboxFinding).where(LightboxFinding.domain_id == row.id))}
    new, unchanged, fixed = [], [], []
    for fp, item in current.items():
        finding = stored.get(fp)
        if finding is None:
            finding = LightboxFinding(org_id=row.org_id, domain_id=row.id, fingerprint=fp, discovered_at=now,
                                      user_id=user_id)
            db.session.add(finding)
        if finding.status == "open" and finding.id is not None:
            unchanged.append(fp)
        else:
            new.append(fp)
        finding.source, finding.asset, finding.finding_type = item["source"], item["asset"][:500], item["type"][:100]
        finding.title, finding.url = (item["title"] or "")[:255], (item["url"] or "")[:1000]
        finding.evidence, finding.remediation = item["evidence"], item["remediation"]
        finding.description = item["title"]
        finding.severity, finding.status_code = item["severity"], item["status_code"]
        finding.status, finding.fixed_at, finding.last_seen_at = "open", None, now
        finding.scan_id = result["scan_id"]
    judged = None if result["active"] else PASSIVE_SOURCES
    for fp, finding in stored.items():
        if fp in current or finding.status != "open":
            continue
        if judged is None or finding.source in judged:
            finding.status, finding.fixed_at = "fixed", now
            fixed.append(fp)
    db.session.flush()
    notify_new(row, [current[fp] for fp in new], [stored[fp] for fp in fixed])
    return {"new": new, "unchanged": unchanged, "fixed": fixed}


def notify_new(row: SurfaceDomain, items: list[dict], fixed: list[LightboxFinding] = ()) -> None:
    """Tell the alert engine (surface alert rules) about new open high/critical findings, once
    each (`notified_at`), and about fixed ones, which resolves their alerts."""
    fresh = db.session.scalars(sa.select(LightboxFinding).where(
        LightboxFinding.domain_id == row.id, LightboxFinding.notified_at.is_(None),
        LightboxFinding.status == "open", LightboxFinding.severity.in_(NOTIFY_SEVERITIES),
        LightboxFinding.fingerprint.in_([fingerprint(i["type"], i["asset"]) for i in items] or [""]))).all()
    fixed = [f for f in fixed if f.severity in NOTIFY_SEVERITIES]
    if not fresh and not fixed:
        return
    publish("surface.findings_changed", org_id=row.org_id, domain=row.domain, opened=fresh, fixed=fixed)
    now = utcnow()
    for finding in fresh:
        finding.notified_at = now


def previous_scan(history: XasmScanHistory) -> XasmScanHistory | None:
    return db.session.scalar(sa.select(XasmScanHistory).where(
        XasmScanHistory.domain_id == history.domain_id, XasmScanHistory.id < history.id)
        .order_by(XasmScanHistory.id.desc()).limit(1))


def risk_trends(org_id: int, points: int = 6) -> dict[int, list[int]]:
    """Each domain's last `points` risk scores, oldest first (one query)."""
    ranked = (sa.select(XasmScanHistory.domain_id, XasmScanHistory.risk_score,
                        sa.func.row_number().over(partition_by=XasmScanHistory.domain_id,
                                                  order_by=XasmScanHistory.id.desc()).label("n"))
              .where(XasmScanHistory.org_id == org_id, XasmScanHistory.deleted_at.is_(None)).subquery())
    out: dict[int, list[int]] = {}
    for domain_id, score, _ in db.session.execute(sa.select(ranked).where(ranked.c.n <= points)
                                                  .order_by(ranked.c.domain_id, ranked.c.n.desc())):
        out.setdefault(domain_id, []).append(score)
    return out


def cleanup_expired_results() -> int:
    """Delete scan_results_* rows past their 48 h expiry; returns how many."""
    now = utcnow()
    total = 0
    for model in (ScanResultXasm, ScanResultLightbox):
        total += db.session.execute(sa.delete(model).where(model.expires_at < now)).rowcount or 0
    return total


def has_expired_results() -> bool:
    now = utcnow()
    return any(db.session.scalar(sa.select(model.id).where(model.expires_at < now).limit(1)) is not None
               for model in (ScanResultXasm, ScanResultLightbox))


def summary_json(result: dict) -> dict:
    """The scan as one JSON object (`vigil surface scan --json` and the scan page's JSON download).

    Stable keys first (the issue's shape: risk_score, risk_level, subdomains, open_ports as
    {host, port, service}, findings as {type, severity, asset, evidence}), then the detail.
    """
    return {
        "domain": result["domain"], "scan_id": result["scan_id"], "active": result["active"],
        "risk_score": result["risk"]["score"], "risk_level": result["risk"]["level"], "risk": result["risk"],
        "subdomains": result["subdomains"],
        "open_ports": [{"host": p["host"], "port": p["port"], "service": p["service"], "product": p.get("product"),
                        "version": p.get("version"), "hostnames": p.get("hostnames", [])}
                       for p in result.get("open_ports", [])],
        "findings": [{"type": f["type"], "severity": f["severity"], "asset": f["asset"], "evidence": f["evidence"],
                      "remediation": f.get("remediation", ""), "source": f.get("source", "")}
                     for f in result.get("findings", [])],
        "mail": result.get("mail", {}), "cloud_assets": result.get("cloud_assets", []),
        "cves": result.get("cves", []), "notes": result.get("notes", []),
    }
