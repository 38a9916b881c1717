"""Attack surface (seed 001 XASM and Lightbox, issue 14): an organization's domains with
their proof of ownership, what discovery found on them, every scan and its findings.

Seed tables keep their names and columns (org_id added; JSON-in-text columns become JSON;
the seed's `is_active` is the soft-delete column here). `surface_domains` and
`surface_assets` are Vigil's own. See docs/schema-map.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import OrgOwnedMixin, SoftDeleteMixin, TimestampMixin, db, utcnow

DOMAIN_STATES = ("pending", "verified", "failed")
VERIFICATION_METHODS = ("dns_txt", "http_file")
SCAN_SCHEDULES = ("off", "daily", "weekly")
SEVERITIES = ("info", "low", "medium", "high", "critical")
FINDING_STATUSES = ("open", "fixed")
ASSET_TYPES = ("subdomain", "address", "port", "certificate", "cloud", "mail", "record")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class SurfaceDomain(OrgOwnedMixin, TimestampMixin, SoftDeleteMixin, db.Model):
    """A domain an organization lists; active probes need `state == 'verified'`."""

    __tablename__ = "surface_domains"
    __table_args__ = (
        sa.UniqueConstraint("org_id", "domain"),
        sa.CheckConstraint(_in("state", DOMAIN_STATES), name="state"),
        sa.CheckConstraint("verification_method IS NULL OR " + _in("verification_method", VERIFICATION_METHODS),
                           name="verification_method"),
        sa.CheckConstraint(_in("scan_schedule", SCAN_SCHEDULES), name="scan_schedule"),
        sa.Index("ix_surface_domains_next_scan", "scan_schedule", "next_scan_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(sa.String(253))
    # The token is published in DNS by design, but kept sealed (app/crypto.py) like every token.
    verification_token_enc: Mapped[str] = mapped_column(sa.Text)
    verification_method: Mapped[str | None] = mapped_column(sa.String(20))
    state: Mapped[str] = mapped_column(sa.String(20), default="pending")
    verified_at: Mapped[datetime | None] = mapped_column()
    last_checked_at: Mapped[datetime | None] = mapped_column()
    last_check_error: Mapped[str | None] = mapped_column(sa.Text)
    scope_exclusions: Mapped[list[str]] = mapped_column(default=list)
    scan_schedule: Mapped[str] = mapped_column(sa.String(10), default="off")
    next_scan_at: Mapped[datetime | None] = mapped_column()
    last_scan_at: Mapped[datetime | None] = mapped_column()
    risk_score: Mapped[int | None] = mapped_column()
    risk_level: Mapped[str | None] = mapped_column(sa.String(20))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class SurfaceAsset(OrgOwnedMixin, db.Model):
    """Something discovery found under a domain (a subdomain, an address, an open port, a
    certificate, a cloud resource, a mail record), kept across scans with first/last seen."""

    __tablename__ = "surface_assets"
    __table_args__ = (
        sa.UniqueConstraint("domain_id", "asset_type", "value"),
        sa.CheckConstraint(_in("asset_type", ASSET_TYPES), name="asset_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(sa.ForeignKey("surface_domains.id", ondelete="CASCADE"), index=True)
    asset_type: Mapped[str] = mapped_column(sa.String(20))
    value: Mapped[str] = mapped_column(sa.String(500))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_scan_id: Mapped[str | None] = mapped_column(sa.String(64))


class AsmScan(OrgOwnedMixin, SoftDeleteMixin, db.Model):
    """Seed `asm_scans`: the latest scan summary of each domain (unique per organization)."""

    __tablename__ = "asm_scans"
    __table_args__ = (sa.UniqueConstraint("org_id", "domain"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(sa.String(253), index=True)
    scan_results: Mapped[dict[str, Any]] = mapped_column(default=dict)
    scanned_at: Mapped[datetime] = mapped_column(default=utcnow)
    risk_score: Mapped[int | None] = mapped_column()
    risk_level: Mapped[str | None] = mapped_column(sa.String(20))
    vulnerabilities_found: Mapped[int | None] = mapped_column()
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CachedAsmScan(OrgOwnedMixin, SoftDeleteMixin, db.Model):
    """Seed `cached_asm_scans`: each domain's latest full discovery result with its counts."""

    __tablename__ = "cached_asm_scans"
    __table_args__ = (sa.UniqueConstraint("org_id", "domain"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(sa.String(255), index=True)
    scanned_at: Mapped[datetime | None] = mapped_column()
    risk_score: Mapped[int] = mapped_column(default=0)
    risk_level: Mapped[str | None] = mapped_column(sa.String(20))
    total_cves: Mapped[int] = mapped_column(default=0)
    critical_cves: Mapped[int] = mapped_column(default=0)
    vulnerabilities_found: Mapped[int] = mapped_column(default=0)
    open_ports_count: Mapped[int] = mapped_column(default=0)
    scan_results: Mapped[dict[str, Any] | None] = mapped_column()
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LightboxFinding(OrgOwnedMixin, SoftDeleteMixin, db.Model):
    """Seed `lightbox_findings`, widened to hold every attack-surface finding (XASM and
    Lightbox, `source`), tracked across scans by `fingerprint` (type + asset)."""

    __tablename__ = "lightbox_findings"
    __table_args__ = (
        sa.UniqueConstraint("domain_id", "fingerprint"),
        sa.CheckConstraint(_in("severity", SEVERITIES), name="severity"),
        sa.CheckConstraint(_in("status", FINDING_STATUSES), name="status"),
        sa.Index("ix_lightbox_findings_org_status", "org_id", "status", "severity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(sa.ForeignKey("surface_domains.id", ondelete="CASCADE"), index=True)
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    source: Mapped[str] = mapped_column(sa.String(10), default="xasm")
    asset: Mapped[str] = mapped_column(sa.String(500), index=True)
    finding_type: Mapped[str] = mapped_column(sa.String(100), index=True)
    title: Mapped[str] = mapped_column(sa.String(255), default="")
    url: Mapped[str] = mapped_column(sa.String(1000), default="")
    description: Mapped[str | None] = mapped_column(sa.Text)
    evidence: Mapped[str | None] = mapped_column(sa.Text)  # at most 2 KB (app/surface/findings.py)
    remediation: Mapped[str | None] = mapped_column(sa.Text)
    severity: Mapped[str] = mapped_column(sa.String(10), index=True, default="info")
    status_code: Mapped[int | None] = mapped_column()
    status: Mapped[str] = mapped_column(sa.String(10), default="open")
    discovered_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    fixed_at: Mapped[datetime | None] = mapped_column()
    notified_at: Mapped[datetime | None] = mapped_column()
    scan_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)  # the scan that last saw it
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LightboxScan(OrgOwnedMixin, SoftDeleteMixin, db.Model):
    """Seed `lightbox_scans`: one active-test run's summary by severity."""

    __tablename__ = "lightbox_scans"

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(sa.String(253), index=True)
    scan_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    scanned_at: Mapped[datetime] = mapped_column(default=utcnow)
    total_findings: Mapped[int] = mapped_column(default=0)
    critical_count: Mapped[int] = mapped_column(default=0)
    high_count: Mapped[int] = mapped_column(default=0)
    medium_count: Mapped[int] = mapped_column(default=0)
    low_count: Mapped[int] = mapped_column(default=0)
    findings: Mapped[list[Any]] = mapped_column(default=list)
    scan_metadata: Mapped[dict[str, Any]] = mapped_column(default=dict)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class _ScanHistory(OrgOwnedMixin, SoftDeleteMixin):
    id: Mapped[int] = mapped_column(primary_key=True)
    scan_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    target: Mapped[str] = mapped_column(sa.String(253), index=True)
    scanned_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(sa.String(20), default="completed")
    results_json: Mapped[dict[str, Any] | None] = mapped_column()
    summary_stats: Mapped[dict[str, Any] | None] = mapped_column()
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class XasmScanHistory(_ScanHistory, db.Model):
    """Seed `xasm_scan_history`: every discovery scan, kept; the scan page diffs against the
    previous one of the same domain."""

    __tablename__ = "xasm_scan_history"

    domain_id: Mapped[int | None] = mapped_column(sa.ForeignKey("surface_domains.id", ondelete="CASCADE"),
                                                  index=True)
    job_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("job_runs.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(default=False)
    risk_score: Mapped[int | None] = mapped_column()
    risk_level: Mapped[str | None] = mapped_column(sa.String(20))


class LightboxScanHistory(_ScanHistory, db.Model):
    """Seed `lightbox_scan_history`: every active-test run with passed/failed counts."""

    __tablename__ = "lightbox_scan_history"

    domain_id: Mapped[int | None] = mapped_column(sa.ForeignKey("surface_domains.id", ondelete="CASCADE"),
                                                  index=True)
    total_tests: Mapped[int] = mapped_column(default=0)
    passed_tests: Mapped[int] = mapped_column(default=0)
    failed_tests: Mapped[int] = mapped_column(default=0)


class _ScanResults(OrgOwnedMixin, SoftDeleteMixin):
    id: Mapped[int] = mapped_column(primary_key=True)
    company: Mapped[str] = mapped_column(sa.String(253), index=True)
    results_json: Mapped[dict[str, Any]] = mapped_column(default=dict)
    scan_date: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ScanResultXasm(_ScanResults, db.Model):
    """Seed `scan_results_xasm`: the newest full result per domain for reports; 48 h expiry."""

    __tablename__ = "scan_results_xasm"
    __table_args__ = (sa.UniqueConstraint("org_id", "company"),)


class ScanResultLightbox(_ScanResults, db.Model):
    """Seed `scan_results_lightbox`: the newest active-test result per domain; 48 h expiry."""

    __tablename__ = "scan_results_lightbox"
    __table_args__ = (sa.UniqueConstraint("org_id", "company"),)


class VulnerabilityReport(OrgOwnedMixin, TimestampMixin, SoftDeleteMixin, db.Model):
    """Seed `vulnerability_reports`: a report written by rules from a domain's scans."""

    __tablename__ = "vulnerability_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int | None] = mapped_column(sa.ForeignKey("surface_domains.id", ondelete="CASCADE"),
                                                  index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    xasm_scan_id: Mapped[int | None] = mapped_column(sa.ForeignKey("scan_results_xasm.id", ondelete="SET NULL"))
    lightbox_scan_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("scan_results_lightbox.id", ondelete="SET NULL"))
    risk_score: Mapped[int] = mapped_column()
    risk_level: Mapped[str] = mapped_column(sa.String(20))
    executive_summary: Mapped[str] = mapped_column(sa.Text)
    report_json: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ai_model: Mapped[str] = mapped_column(sa.String(50), default="rules")
    generation_time_ms: Mapped[int | None] = mapped_column()
    generated_at: Mapped[datetime] = mapped_column(default=utcnow)
