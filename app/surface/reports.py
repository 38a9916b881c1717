"""Vulnerability reports, written by rules from a domain's latest scan (no external service).

`build(row)` turns the newest stored scan into the report document (risk, an executive
summary, the top 5 issues with CVSS/CVE/CWE, effort and priority, attack scenarios from
finding combinations, a remediation plan, findings by category); `create()` stores it as
a `vulnerability_reports` row; `render_pdf()` prints it through the report framework's one
renderer (app.reports.render: DejaVu fonts, no network).
"""

from __future__ import annotations

import json
import time
from typing import Any

import sqlalchemy as sa

from app import audit
from app.crypto import decrypt_text
from app.models import (
    ProviderCredential,
    ScanResultXasm,
    SurfaceDomain,
    VulnerabilityReport,
    XasmScanHistory,
    db,
    utcnow,
)
from app.models.wireless import AI_PROVIDER_KEY
from app.outbound import OutboundRefused
from app.outbound.http import TransientFailure, request_json
from app.reports.registry import Period, ReportContent, Table, register_report
from app.reports.render import render_template_pdf
from app.surface.domains import SurfaceError

SEVERITY_CVSS = {"critical": 9.5, "high": 7.5, "medium": 5.3, "low": 3.1, "info": 0.0}
SEVERITY_PRIORITY = {"critical": 1, "high": 2, "medium": 3, "low": 4, "info": 5}
# finding type prefix -> (category, CWE, effort hours)
KNOWLEDGE: dict[str, tuple[str, str, int]] = {
    "cve:": ("Vulnerable software", "CWE-1104", 4),
    "exposed_": ("Exposed files", "CWE-538", 1),
    "directory_listing": ("Exposed files", "CWE-548", 1),
    "default_page": ("Web server configuration", "CWE-1188", 1),
    "exposed_admin_panel": ("Access control", "CWE-284", 2),
    "database_exposed": ("Network exposure", "CWE-668", 3),
    "remote_admin_exposed": ("Network exposure", "CWE-668", 2),
    "cleartext_service": ("Network exposure", "CWE-319", 2),
    "tls_": ("TLS", "CWE-295", 1),
    "missing_": ("Security headers", "CWE-693", 1),
    "weak_cookie_flags": ("Security headers", "CWE-614", 1),
    "cors_reflects_origin": ("Access control", "CWE-942", 2),
    "open_redirect": ("Access control", "CWE-601", 2),
    "dangerous_http_methods": ("Web server configuration", "CWE-749", 1),
    "version_disclosure": ("Information disclosure", "CWE-200", 1),
    "stack_trace_disclosure": ("Information disclosure", "CWE-209", 2),
    "spf_": ("Mail security", "CWE-290", 1),
    "dmarc_": ("Mail security", "CWE-290", 1),
    "dkim_": ("Mail security", "CWE-290", 2),
    "dangling_cname": ("DNS", "CWE-350", 1),
    "axfr_allowed": ("DNS", "CWE-200", 1),
    "threat_intel_match": ("Threat intelligence", "CWE-506", 4),
}
# (scenario, finding types that must all be present (prefix match), narrative)
SCENARIOS = (
    ("Subdomain takeover", ("dangling_cname",),
     "An attacker claims the cloud resource a dangling CNAME points to and serves pages under your domain: "
     "phishing and cookie theft with your name on it."),
    ("Mail spoofing", ("dmarc_",),
     "Without an enforced DMARC policy anyone can send mail that appears to come from your domain."),
    ("Source code leak to targeted exploit", ("exposed_git", "cve:"),
     "The exposed repository reveals code and configuration; combined with known CVEs in the same stack an "
     "attacker can aim an exploit precisely."),
    ("Known exploited vulnerability", ("kev",),
     "Software with a vulnerability in CISA's KEV catalogue is exposed: it is being exploited in the wild."),
    ("Direct database attack", ("database_exposed",),
     "A database port answers from the internet: credential guessing and database CVEs are one step away."),
    ("Reconnaissance made easy", ("axfr_allowed",),
     "A zone transfer hands out the full list of your hosts, including those you never meant to publish."),
)


def knowledge(finding_type: str) -> tuple[str, str, int]:
    return next((v for k, v in KNOWLEDGE.items() if finding_type.startswith(k)), ("Other", "CWE-16", 2))


def latest_scan(row: SurfaceDomain) -> XasmScanHistory | None:
    return db.session.scalar(sa.select(XasmScanHistory).where(XasmScanHistory.domain_id == row.id)
                             .order_by(XasmScanHistory.id.desc()).limit(1))


def build(row: SurfaceDomain, scan: XasmScanHistory) -> dict:
    result = scan.results_json or {}
    findings = [f for f in result.get("findings", []) if f["severity"] != "info"]
    cves = {(c["cve"], c["asset"]): c for c in result.get("cves", [])}
    issues = []
    for f in findings:
        category, cwe, effort = knowledge(f["type"])
        cve = next((c for (cid, asset), c in cves.items() if f["type"] == f"cve:{cid}" and asset == f["asset"]), None)
        issues.append({"type": f["type"], "title": f["title"], "asset": f["asset"], "severity": f["severity"],
                       "cvss": (cve or {}).get("cvss") or SEVERITY_CVSS[f["severity"]],
                       "cve": (cve or {}).get("cve"), "kev": bool((cve or {}).get("kev")), "cwe": cwe,
                       "category": category, "effort_hours": effort,
                       "priority": max(1, SEVERITY_PRIORITY[f["severity"]] - (1 if (cve or {}).get("kev") else 0)),
                       "remediation": f["remediation"], "evidence": f["evidence"]})
    issues.sort(key=lambda i: (i["priority"], -float(i["cvss"] or 0), i["type"], i["asset"]))
    present = {i["type"] for i in issues} | ({"kev"} if any(i["kev"] for i in issues) else set())
    scenarios = [{"name": name, "narrative": text} for name, needs, text in SCENARIOS
                 if all(any(t.startswith(n) for t in present) for n in needs)]
    by_category: dict[str, list[dict]] = {}
    for issue in issues:
        by_category.setdefault(issue["category"], []).append(issue)
    risk = result.get("risk", {"score": 0, "level": "low", "categories": []})
    counts = {s: sum(1 for i in issues if i["severity"] == s) for s in ("critical", "high", "medium", "low")}
    return {
        "domain": row.domain, "scan_id": scan.scan_id, "scanned_at": scan.scanned_at.isoformat(),
        "active": scan.active, "risk": risk, "counts": counts,
        "executive_summary": summary(row.domain, risk, counts, issues, scan.active),
        "top_issues": issues[:5], "attack_scenarios": scenarios,
        "remediation_plan": {"immediate": [i for i in issues if i["priority"] <= 2],
                             "this_week": [i for i in issues if i["priority"] == 3],
                             "this_month": [i for i in issues if i["priority"] >= 4]},
        "findings_by_category": by_category, "subdomains": result.get("subdomains", []),
        "open_ports": result.get("open_ports", []),
    }


def summary(domain: str, risk: dict, counts: dict, issues: list[dict], active: bool) -> str:
    """Two or three sentences a manager can read, from the numbers only."""
    total = sum(counts.values())
    worst = issues[0] if issues else None
    text = (f"{domain} scores {risk['score']}/100, {risk['level']} risk, from a "
            f"{'full (active)' if active else 'passive'} scan that found {total} issues "
            f"({counts['critical']} critical, {counts['high']} high, {counts['medium']} medium, {counts['low']} low).")
    if worst:
        text += f" The first to fix is {worst['title']} on {worst['asset']} ({worst['severity']})."
    kev = sum(1 for i in issues if i["kev"])
    if kev:
        text += f" {kev} of the issues are vulnerabilities known to be exploited in the wild (CISA KEV)."
    if not active:
        text += " Ports, certificates and web tests were not checked: verify the domain to allow an active scan."
    return text


AI_PROMPT = ("You write the narrative section of an external attack-surface report for a small company's "
             "management. Use only the facts given, in plain English, at most 180 words, no lists, no markdown.")


def ai_provider(org_id: int) -> tuple[str, str, str] | None:
    """(base URL, model, key) of the organization's AI provider (the one set up under Metrics), or None."""
    cred = db.session.scalar(sa.select(ProviderCredential).where(ProviderCredential.org_id == org_id,
                                                                 ProviderCredential.provider == AI_PROVIDER_KEY))
    if cred is None or not (cred.options or {}).get("base_url") or not cred.secret_encrypted:
        return None
    return cred.options["base_url"], cred.api_name or "", decrypt_text(cred.secret_encrypted)


def ai_narrative(provider: tuple[str, str, str], document: dict) -> str:
    """Ask an OpenAI-compatible chat endpoint for a narrative of the rules-written facts."""
    base_url, model, key = provider
    facts = {k: document[k] for k in ("domain", "risk", "counts", "executive_summary", "attack_scenarios")}
    facts["top_issues"] = [{k: i[k] for k in ("title", "asset", "severity", "cve", "kev")} for i in document["top_issues"]]
    body = {"model": model, "temperature": 0.2,
            "messages": [{"role": "system", "content": AI_PROMPT},
                         {"role": "user", "content": json.dumps(facts, default=str)[:12000]}]}
    try:
        answer = request_json("POST", f"{base_url}/chat/completions", json_body=body,
                              headers={"Authorization": f"Bearer {key}"}, retries=1)
    except (TransientFailure, OutboundRefused) as exc:
        raise SurfaceError(f"AI provider: {exc}") from None
    try:
        text = str(answer.body["choices"][0]["message"]["content"]).strip() if answer.status == 200 else ""
    except (KeyError, IndexError, TypeError):
        text = ""
    if not text:
        raise SurfaceError(f"AI provider answered HTTP {answer.status} without a narrative")
    return text[:3000]


def create(row: SurfaceDomain, *, user_id: int | None = None, actor=None, actor_label: str | None = None,
           use_ai: bool = True) -> VulnerabilityReport:
    """Write a report from the newest scan (SurfaceError if there is none); audited.

    With an AI provider configured for the organization (and `use_ai`), its narrative is
    added; the report never depends on it: a failure is noted and the rules' text stands.
    """
    scan = latest_scan(row)
    if scan is None:
        raise SurfaceError(f"{row.domain} has not been scanned yet")
    started = time.monotonic()
    document = build(row, scan)
    provider = ai_provider(row.org_id) if use_ai else None
    model = "rules"
    if provider is not None:
        row_id = row.id
        db.session.commit()  # no transaction held open across the provider's answer
        try:
            document["ai_narrative"] = ai_narrative(provider, document)
            model = f"rules+{provider[1]}"[:50]
        except SurfaceError as exc:
            document["ai_error"] = str(exc)[:300]
        row = db.session.get(SurfaceDomain, row_id)
    source = db.session.scalar(sa.select(ScanResultXasm.id).where(ScanResultXasm.org_id == row.org_id,
                                                                  ScanResultXasm.company == row.domain))
    report = VulnerabilityReport(org_id=row.org_id, domain_id=row.id, user_id=user_id, xasm_scan_id=source,
                                 risk_score=document["risk"]["score"], risk_level=document["risk"]["level"],
                                 executive_summary=document["executive_summary"], report_json=document,
                                 ai_model=model, generated_at=utcnow(),
                                 generation_time_ms=int((time.monotonic() - started) * 1000))
    db.session.add(report)
    db.session.flush()
    audit.record("surface.report_created", resource_type="vulnerability_report", resource_id=report.id,
                 org_id=row.org_id, details={"domain": row.domain, "scan_id": scan.scan_id}, actor=actor,
                 actor_type=None if actor else "system", actor_label=actor_label)
    return report


def render_pdf(report: VulnerabilityReport) -> bytes:
    return render_template_pdf("surface/report_pdf.html", report=report, doc=report.report_json)


def report_builder(org_id: int, period: Period, params: dict[str, Any]) -> ReportContent:
    """The report framework's attack-surface report: with a domain as subject, that domain's
    vulnerability report from its newest scan (the same document `build()` writes); without
    one, every domain's latest risk."""
    subject = (params.get("subject") or "").strip().lower()
    rows = list(db.session.scalars(sa.select(SurfaceDomain).where(SurfaceDomain.org_id == org_id)
                                   .order_by(SurfaceDomain.domain)))
    overview = Table(["Domain", "State", "Last scan", "Risk score", "Risk level"])
    doc, issues = None, Table(["Priority", "Severity", "Issue", "Asset", "CVSS", "CVE", "CWE", "Effort (h)"])
    for row in rows:
        scan = latest_scan(row)
        risk = ((scan.results_json or {}).get("risk") or {}) if scan else {}
        overview.rows.append([row.domain, row.state, scan.scanned_at if scan else None, risk.get("score"),
                              risk.get("level")])
        if scan is not None and row.domain == subject:
            doc = build(row, scan)
    if doc is not None:
        issues.rows = [[i["priority"], i["severity"], i["title"], i["asset"], i["cvss"], i["cve"], i["cwe"],
                        i["effort_hours"]] for items in doc["findings_by_category"].values() for i in items]
        issues.rows.sort(key=lambda r: (r[0], r[2]))
    return ReportContent("surface.html", {"doc": doc, "report": None, "subject": subject},
                         {"domains": overview, "issues": issues})


register_report("surface_vulnerability", "Attack-surface vulnerability report", "data.read", report_builder,
                subject_label="Domain")
