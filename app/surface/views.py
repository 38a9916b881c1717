"""Attack-surface pages: overview, domain detail, scan progress and result, findings."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask import Response, abort, flash, request
from flask_login import current_user

from app import audit
from app.jobs import enqueue, job_title
from app.jobs.runner import live_progress
from app.models import (
    JobRun,
    LightboxFinding,
    LightboxScanHistory,
    SurfaceAsset,
    SurfaceDomain,
    VulnerabilityReport,
    XasmScanHistory,
    db,
)
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.surface import domains, findings, recheck, reports, scans
from app.surface.blueprint import bp
from app.surface.domains import SurfaceError
from app.surface.forms import DomainForm, ScanForm, ScopeForm
from app.surface.providers import kev_status
from app.surface.risk import CATEGORY_MAX, LEVELS, RULES
from app.tenancy import get_scoped_or_404, require_org_id, scoped

FINDINGS_LIMIT = 500


def overview_context(form: DomainForm) -> dict:
    org_id = require_org_id()
    rows = db.session.scalars(scoped(SurfaceDomain).order_by(SurfaceDomain.domain)).all()
    return {"domains": rows, "counts": findings.counts_by_severity(org_id), "form": form,
            "severities": findings.SEVERITY_ORDER, "trends": scans.risk_trends(org_id)}


@bp.get("/")
@require("data.read")
def index():
    """The organization's domains: verification state, risk and open findings by severity."""
    return render_page("surface/index.html", block="domains", **overview_context(DomainForm()))


@bp.post("/domains")
@require("data.write")
def domain_add():
    """List a domain; the next page shows how to prove ownership."""
    form = DomainForm()
    if form.validate_on_submit():
        try:
            row, _ = domains.add_domain(require_org_id(), form.domain.data, actor=current_user)
        except SurfaceError as exc:
            form.domain.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"{row.domain} listed. Publish the verification record, then verify.", "success")
            return redirect_after_post("surface.domain", domain_id=row.id)
    return render_page("surface/index.html", status=INVALID_FORM_STATUS, **overview_context(form))


def domain_context(row: SurfaceDomain, scope_form: ScopeForm | None = None) -> dict:
    cached = db.session.scalar(sa.select(XasmScanHistory).where(XasmScanHistory.domain_id == row.id)
                               .order_by(XasmScanHistory.id.desc()).limit(1))
    history = db.session.scalars(sa.select(XasmScanHistory).where(XasmScanHistory.domain_id == row.id)
                                 .order_by(XasmScanHistory.id.desc()).limit(20)).all()
    assets = db.session.scalars(sa.select(SurfaceAsset).where(SurfaceAsset.domain_id == row.id)
                                .order_by(SurfaceAsset.asset_type, SurfaceAsset.value)).all()
    runs = db.session.scalars(scoped(JobRun).where(JobRun.kind == "surface.scan",
                                                   JobRun.status.in_(("queued", "running")))).all()
    if scope_form is None:
        scope_form = ScopeForm(data={"exclusions": "\n".join(row.scope_exclusions or []),
                                     "schedule": row.scan_schedule})
    return {"row": row, "latest": cached.results_json if cached else None, "history": history,
            "assets": assets, "scope_form": scope_form, "scan_form": ScanForm(),
            "token_record": domains.txt_record(row), "well_known": domains.WELL_KNOWN_PATH,
            "running": [r for r in runs if (r.params or {}).get("domain_id") == row.id],
            "counts": findings.counts_by_severity(row.org_id).get(row.id, {}), "severities": findings.SEVERITY_ORDER,
            "category_max": CATEGORY_MAX, "levels": LEVELS, "rules": RULES, "kev": kev_status(),
            "reports": db.session.scalars(scoped(VulnerabilityReport).where(VulnerabilityReport.domain_id == row.id)
                                          .order_by(VulnerabilityReport.id.desc()).limit(10)).all()}


@bp.get("/domains/<int:domain_id>")
@require("data.read")
def domain(domain_id: int):
    """A domain: ownership proof, risk explained point by point, and everything discovery found."""
    row = get_scoped_or_404(SurfaceDomain, domain_id)
    return render_page("surface/domain.html", **domain_context(row))


@bp.post("/domains/<int:domain_id>/verify")
@require("data.write")
def domain_verify(domain_id: int):
    """Check the domain's proof of ownership now."""
    row = get_scoped_or_404(SurfaceDomain, domain_id)
    ok = domains.verify(row, actor=current_user)
    db.session.commit()
    flash(f"{row.domain} verified ({row.verification_method})." if ok
          else f"Not verified: {row.last_check_error}", "success" if ok else "warning")
    return redirect_after_post("surface.domain", domain_id=row.id)


@bp.post("/domains/<int:domain_id>/scope")
@require("data.write")
def domain_scope(domain_id: int):
    """Change the scope exclusions and the rescan schedule."""
    row = get_scoped_or_404(SurfaceDomain, domain_id)
    form = ScopeForm()
    if form.validate_on_submit():
        try:
            domains.set_scope(row, (form.exclusions.data or "").splitlines(), form.schedule.data, actor=current_user)
        except SurfaceError as exc:
            db.session.rollback()
            form.exclusions.errors.append(str(exc))
        else:
            db.session.commit()
            flash("Scope saved.", "success")
            return redirect_after_post("surface.domain", domain_id=row.id)
    row = get_scoped_or_404(SurfaceDomain, domain_id)
    return render_page("surface/domain.html", status=INVALID_FORM_STATUS, **domain_context(row, form))


@bp.post("/domains/<int:domain_id>/delete")
@require("data.write")
def domain_delete(domain_id: int):
    """Stop watching a domain (its history stays)."""
    row = get_scoped_or_404(SurfaceDomain, domain_id)
    domains.remove_domain(row, actor=current_user)
    db.session.commit()
    flash(f"{row.domain} removed.", "info")
    return redirect_after_post("surface.index")


@bp.post("/domains/<int:domain_id>/scan")
@require("data.write")
def domain_scan(domain_id: int):
    """Queue a scan; active probes only for a verified domain."""
    row = get_scoped_or_404(SurfaceDomain, domain_id)
    form = ScanForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        run_id = scans.start_scan(row, active=bool(form.active.data), actor=current_user)
    except SurfaceError as exc:
        flash(str(exc), "warning")
        return redirect_after_post("surface.domain", domain_id=row.id)
    db.session.commit()
    return redirect_after_post("surface.run", run_id=run_id)


@bp.get("/runs/<int:run_id>")
@require("data.read")
def run(run_id: int):
    """A scan in progress: the status block polls itself until the run ends, then links the result."""
    job_run = get_scoped_or_404(JobRun, run_id)
    if job_run.kind != "surface.scan":
        abort(404)
    history = db.session.scalar(scoped(XasmScanHistory).where(XasmScanHistory.job_run_id == job_run.id))
    row = db.session.scalar(scoped(SurfaceDomain).where(SurfaceDomain.id == (job_run.params or {}).get("domain_id")))
    return render_page("surface/run.html", block="progress", job_run=job_run, history=history, row=row,
                       live_progress=live_progress, job_title=job_title)


@bp.get("/scans/<int:scan_id>")
@require("data.read")
def scan(scan_id: int):
    """One stored scan: its risk, findings and what changed since the previous scan."""
    history = get_scoped_or_404(XasmScanHistory, scan_id)
    previous = scans.previous_scan(history)
    row = db.session.get(SurfaceDomain, history.domain_id)
    result = history.results_json or {}
    diff = (history.summary_stats or {}).get("diff", {"new": [], "fixed": [], "unchanged": []})
    by_fp = {scans.fingerprint(f["type"], f["asset"]): f for f in result.get("findings", [])}
    if previous is not None:
        for item in (previous.results_json or {}).get("findings", []):
            by_fp.setdefault(scans.fingerprint(item["type"], item["asset"]), item)
    lightbox = db.session.scalar(scoped(LightboxScanHistory).where(LightboxScanHistory.scan_id == history.scan_id))
    return render_page("surface/scan.html", history=history, previous=previous, row=row, result=result,
                       diff=diff, by_fp=by_fp, lightbox=lightbox)


@bp.get("/scans/<int:scan_id>.json")
@require("data.read")
def scan_json(scan_id: int):
    """One stored scan as the JSON object `vigil surface scan --json` prints."""
    history = get_scoped_or_404(XasmScanHistory, scan_id)
    if not (history.results_json or {}).get("risk"):
        abort(404)
    body = json.dumps(scans.summary_json(history.results_json), indent=1, default=str)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f"attachment; filename=surface-scan-{history.id}.json"})


def filtered(org_id: int, limit: int | None = FINDINGS_LIMIT):
    args = request.args
    domain_id = args.get("domain_id", type=int)
    return db.session.execute(findings.query(
        org_id, domain_id=domain_id, severity=args.get("severity") or None,
        status=args.get("status", "open") or None, finding_type=args.get("type") or None,
        text=(args.get("q") or "").strip()[:100] or None).limit(limit)).all()


@bp.get("/findings")
@require("data.read")
def findings_list():
    """Findings of every domain, filtered by domain, severity, status, type and text."""
    org_id = require_org_id()
    rows = filtered(org_id)
    domain_rows = db.session.scalars(scoped(SurfaceDomain).order_by(SurfaceDomain.domain)).all()
    return render_page("surface/findings.html", block="results", rows=rows, domains=domain_rows,
                       can_recheck=recheck.can_recheck,
                       args=request.args, severities=findings.SEVERITY_ORDER, limit=FINDINGS_LIMIT)


@bp.get("/findings.csv", defaults={"fmt": "csv"})
@bp.get("/findings.json", defaults={"fmt": "json"})
@require("data.read")
def findings_export(fmt: str):
    """The filtered findings as CSV or JSON."""
    records = [findings.as_record(f, d) for f, d in filtered(require_org_id(), limit=None)]
    if fmt == "csv":
        body, mimetype = findings.to_csv(records), "text/csv"
    else:
        body, mimetype = json.dumps({"findings": records}, indent=1), "application/json"
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename=surface-findings.{fmt}"})


@bp.post("/domains/<int:domain_id>/reports")
@require("data.write")
def report_new(domain_id: int):
    """Queue a vulnerability report of the domain's newest scan."""
    row = get_scoped_or_404(SurfaceDomain, domain_id)
    if reports.latest_scan(row) is None:
        flash("Scan the domain first: a report is written from its newest scan.", "warning")
        return redirect_after_post("surface.domain", domain_id=row.id)
    run = enqueue("surface.report", org_id=row.org_id, requested_by_id=current_user.id, domain_id=row.id)
    audit.record("surface.report_requested", resource_type="surface_domain", resource_id=row.id,
                 details={"job_run_id": run.id})
    db.session.commit()
    flash("The report is being written; it appears under Reports when done.", "info")
    return redirect_after_post("surface.domain", domain_id=row.id)


@bp.get("/reports/<int:report_id>.pdf", defaults={"fmt": "pdf"})
@bp.get("/reports/<int:report_id>.json", defaults={"fmt": "json"})
@require("data.read")
def report_download(report_id: int, fmt: str):
    """A report as PDF (printed now, offline) or as its JSON document."""
    report = get_scoped_or_404(VulnerabilityReport, report_id)
    name = f"vigil-report-{report.report_json.get('domain', 'domain')}-{report.id}.{fmt}"
    if fmt == "pdf":
        body, mimetype = reports.render_pdf(report), "application/pdf"
    else:
        body, mimetype = json.dumps(report.report_json, indent=1), "application/json"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={name}"})


@bp.post("/findings/<int:finding_id>/verify-fix")
@require("data.write")
def finding_verify_fix(finding_id: int):
    """Queue a re-run of the one web test behind an open finding."""
    finding = get_scoped_or_404(LightboxFinding, finding_id)
    if not recheck.can_recheck(finding):
        abort(409)
    run = enqueue("surface.verify_fix", org_id=finding.org_id, requested_by_id=current_user.id,
                  finding_id=finding.id)
    audit.record("surface.finding_recheck_requested", resource_type="lightbox_finding", resource_id=finding.id,
                 details={"job_run_id": run.id})
    db.session.commit()
    flash("Re-checking; the finding is marked fixed if the test now passes.", "info")
    return redirect_after_post("surface.findings_list", domain_id=finding.domain_id)
